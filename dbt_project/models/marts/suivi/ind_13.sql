{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 13, « Évolution du nombre de demandes de mutations » (indicators.md, section B): active
-- demands at the end of the period (31 December once the year is complete) with TYPE_DEMANDE =
-- MUTATION, by MOTIF_PRINCIPAL, with the total; denominateur = all active demands, so that the
-- TOTAL row's numerateur / denominateur is the share of mutations in the demand. Every motif seen in
-- any year has its row (0 when none); each row carries the previous year's value
-- (valeur_precedente). VIOLENCES and HANDICAP are sensitive: masked by the publication layer.
with

toutes_demandes as (
    select * from {{ ref('int_demandes_actives') }}
    where est_fin_de_periode
),

demandes as (
    select * from toutes_demandes
    {{ annee_filter_avec_precedente() }}
),

situations as (
    select annee, any_value(date_situation) as date_situation, count(*) as demandes_actives
    from demandes
    group by annee
),

grille as (
    select situations.annee, motifs.motif
    from situations
    cross join (
        select distinct coalesce(motif_principal, 'INCONNU') as motif
        from toutes_demandes
        where type_demande = 'MUTATION'
    ) as motifs
),

cellules_comptees as (
    select grille.annee, grille.motif, count(demandes.annee) as nombre
    from grille
    left join demandes
        on demandes.annee = grille.annee
        and coalesce(demandes.motif_principal, 'INCONNU') = grille.motif
        and demandes.type_demande = 'MUTATION'
    group by grille.annee, grille.motif
),

comptes as (
    select
        cellules_comptees.annee,
        case when grouping(cellules_comptees.motif) = 1 then 'TOTAL'
            else cellules_comptees.motif end                                      as motif,
        cast(sum(cellules_comptees.nombre) as bigint)                             as numerateur,
        any_value(situations.demandes_actives)                                    as denominateur,
        cast(sum(cellules_comptees.nombre) as bigint)                             as valeur,
        any_value(situations.date_situation)                                      as date_situation
    from cellules_comptees
    join situations on situations.annee = cellules_comptees.annee
    group by grouping sets ((cellules_comptees.annee), (cellules_comptees.annee, cellules_comptees.motif))
),

evolution as (
    {{ avec_annee_precedente('comptes', ['motif']) }}
),

final as (
    select
        annee,
        motif,
        numerateur,
        denominateur,
        valeur,
        numerateur_precedent,
        valeur_precedente,
        {{ source_fichier_partage('date_situation') }}                            as source
    from evolution
    {{ annee_filter() }}
)

select * from final
