{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 5 of the CIA (section 6.2), « Classification du parc »: the RPLS dwellings of the year by
-- fragility class of their IRIS (maille IRIS) and of their résidence (maille RESIDENCE), in and out
-- of QPV (RPLS QPV flag), with the share of the zone's parc. The class is that of the survey that
-- stands for the year (int_ops_annees, annee_enquete). Dwellings whose IRIS or résidence has no
-- class (no respondent, no IRIS, no résidence) are « non renseigné », so that the classes of a
-- maille sum to its TOTAL; those of a unit with respondents but fewer than the disclosure
-- threshold (int_fragilite_unites) are « effectif insuffisant ». Reference point (indicators.md,
-- section D): in 2020, 11 249 dwellings in fragile or très fragile IRIS, 7 357 of them in QPV.
with

annees as (
    select * from {{ ref('int_ops_annees') }}
),

classement as (
    select * from {{ ref('int_fragilite_classement') }}
),

logements as (
    select logements.*
    from {{ ref('stg_rpls__logements') }} as logements
    join annees on annees.annee = logements.annee
),

classes as (
    select libelle as classe_fragilite
    from {{ ref('ref_seuils_fragilite') }}
    where nature = 'classe'
    union all
    select 'effectif insuffisant'
    union all
    select 'non renseigné'
    union all
    select 'TOTAL'
),

zones as (
    select * from (values ('QPV'), ('HORS_QPV'), ('TOTAL')) as zones (qpv)
),

mailles as (
    select * from (values ('IRIS'), ('RESIDENCE')) as mailles (maille)
),

logements_classes as (
    select
        logements.annee,
        'IRIS'                                                             as maille,
        {{ classe_publiee('classement') }}                                  as classe_fragilite,
        case when logements.est_qpv then 'QPV' else 'HORS_QPV' end         as qpv
    from logements
    left join classement
        on classement.maille = 'IRIS'
        and classement.annee = logements.annee
        and classement.unite = logements.iris
    union all
    select
        logements.annee,
        'RESIDENCE',
        {{ classe_publiee('classement') }},
        case when logements.est_qpv then 'QPV' else 'HORS_QPV' end
    from logements
    left join classement
        on classement.maille = 'RESIDENCE'
        and classement.annee = logements.annee
        and classement.unite = logements.residence_id
),

comptes as (
    select
        annee,
        maille,
        case when grouping(classe_fragilite) = 1 then 'TOTAL' else classe_fragilite end as classe_fragilite,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end              as qpv,
        count(*)                                                           as logements
    from logements_classes
    group by grouping sets ((annee, maille, classe_fragilite, qpv), (annee, maille, classe_fragilite),
                            (annee, maille, qpv), (annee, maille))
),

-- every class × zone of every maille has a row, 0 where no dwelling
grille as (
    select annees.annee, annees.annee_enquete, mailles.maille, classes.classe_fragilite, zones.qpv
    from annees
    cross join mailles
    cross join classes
    cross join zones
    where annees.annee in (select distinct annee from logements)
),

final as (
    select
        grille.annee,
        grille.maille,
        grille.classe_fragilite,
        grille.qpv,
        coalesce(comptes.logements, 0)                                     as numerateur,
        coalesce(parc_zone.logements, 0)                                   as denominateur,
        {{ taux('coalesce(comptes.logements, 0)', 'parc_zone.logements') }} as valeur,
        grille.annee_enquete,
        'OPS ' || grille.annee_enquete || ', RPLS ' || grille.annee        as source
    from grille
    left join comptes
        on comptes.annee = grille.annee
        and comptes.maille = grille.maille
        and comptes.classe_fragilite = grille.classe_fragilite
        and comptes.qpv = grille.qpv
    left join comptes as parc_zone
        on parc_zone.annee = grille.annee
        and parc_zone.maille = grille.maille
        and parc_zone.classe_fragilite = 'TOTAL'
        and parc_zone.qpv = grille.qpv
)

select * from final
{{ annee_filter() }}
