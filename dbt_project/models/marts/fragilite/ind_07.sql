{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 7 of the CIA (section 6.2), « Évolution de l'occupation sociale des résidences
-- fragiles »: the OPS occupation measures of ind_06 (int_ops_mesures) for every résidence classed
-- fragile or très fragile (int_fragilite_classement) by the survey that stands for the year, with the
-- same résidence's value at the survey before and its class then. Rows residence = TOTAL gather the
-- fragile résidences of each class (and of both, classe_fragilite = TOTAL); their previous value is
-- that of the same résidences at the survey before (those surveyed then).
with

annees as (
    select * from {{ ref('int_ops_annees') }}
),

classement as (
    select * from {{ ref('int_fragilite_classement') }}
    where maille = 'RESIDENCE'
),

unites as (
    select * from {{ ref('int_fragilite_unites') }}
    where maille = 'RESIDENCE'
),

mesures as (
    select * from {{ ref('int_ops_mesures') }}
    where residence_id is not null
),

par_residence as (
    select
        annee_enquete,
        residence_id,
        mesure,
        sum(numerateur)                                                    as numerateur,
        sum(denominateur)                                                  as denominateur,
        -- every responding household has one row per measure
        count(*)                                                           as nb_menages
    from mesures
    group by annee_enquete, residence_id, mesure
),

fragiles as (
    select * from classement
    where est_fragile
),

lignes as (
    select
        fragiles.annee,
        fragiles.annee_enquete,
        fragiles.annee_enquete_precedente,
        fragiles.unite                                                     as residence,
        fragiles.classe                                                    as classe_fragilite,
        actuelle.mesure,
        actuelle.numerateur,
        actuelle.denominateur,
        actuelle.nb_menages,
        precedente.numerateur                                              as numerateur_precedent,
        precedente.denominateur                                            as denominateur_precedent
    from fragiles
    join par_residence as actuelle
        on actuelle.annee_enquete = fragiles.annee_enquete
        and actuelle.residence_id = fragiles.unite
    left join par_residence as precedente
        on precedente.annee_enquete = fragiles.annee_enquete_precedente
        and precedente.residence_id = fragiles.unite
        and precedente.mesure = actuelle.mesure
),

comptes as (
    select
        annee,
        annee_enquete,
        annee_enquete_precedente,
        case when grouping(residence) = 1 then 'TOTAL' else residence end  as residence,
        case when grouping(classe_fragilite) = 1 then 'TOTAL' else classe_fragilite end as classe_fragilite,
        mesure,
        sum(numerateur)                                                    as numerateur,
        sum(denominateur)                                                  as denominateur,
        sum(nb_menages)                                                    as nb_menages,
        sum(numerateur_precedent)                                          as numerateur_precedent,
        sum(denominateur_precedent)                                        as denominateur_precedent
    from lignes
    group by grouping sets (
        (annee, annee_enquete, annee_enquete_precedente, mesure, residence, classe_fragilite),
        (annee, annee_enquete, annee_enquete_precedente, mesure, classe_fragilite),
        (annee, annee_enquete, annee_enquete_precedente, mesure)
    )
),

final as (
    select
        comptes.annee,
        comptes.residence,
        comptes.classe_fragilite,
        comptes.mesure,
        comptes.numerateur,
        comptes.denominateur,
        {{ taux('comptes.numerateur', 'comptes.denominateur') }}          as valeur,
        comptes.nb_menages,
        comptes.annee_enquete,
        comptes.annee_enquete_precedente                                   as annee_precedente,
        unites_precedentes.classe                                          as classe_precedente,
        comptes.numerateur_precedent,
        comptes.denominateur_precedent,
        {{ taux('comptes.numerateur_precedent', 'comptes.denominateur_precedent') }} as valeur_precedente,
        {{ taux('comptes.numerateur', 'comptes.denominateur') }}
            - {{ taux('comptes.numerateur_precedent', 'comptes.denominateur_precedent') }} as evolution,
        'OPS ' || comptes.annee_enquete                                    as source
    from comptes
    left join unites as unites_precedentes
        on unites_precedentes.annee_enquete = comptes.annee_enquete_precedente
        and unites_precedentes.unite = comptes.residence
)

select * from final
{{ annee_filter() }}
