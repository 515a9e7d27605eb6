{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Fragility of occupation by IRIS (indicators.md, sections D and E): for every IRIS of the year —
-- with RPLS dwellings or OPS respondents — the criteria C1–C3, the number met and the class of the
-- OPS survey that stands for the year (int_ops_annees: a survey year shows its own survey, the year
-- after carries it, annee_enquete says which), with the RPLS dwellings of the IRIS that year. An
-- IRIS without respondents has nb_menages = 0 and no class (« non renseigné »). The disclosure rule
-- (class of fewer than 11 households not published) is applied by the publication layer.
with

classement as (
    select * from {{ ref('int_fragilite_classement') }}
    where maille = 'IRIS'
),

annees as (
    select * from {{ ref('int_ops_annees') }}
),

logements as (
    select * from {{ ref('stg_rpls__logements') }}
),

communes as (
    select * from {{ ref('ref_communes') }}
),

millesimes_rpls as (
    select distinct annee from logements
),

parc as (
    select
        annee,
        iris,
        count(*)                                                           as nb_logements,
        count(*) filter (where est_qpv)                                    as nb_logements_qpv
    from logements
    where nullif(trim(iris), '') is not null
    group by annee, iris
),

-- every IRIS of the year: with dwellings in the RPLS or with respondents to the survey
iris_de_l_annee as (
    select parc.annee, parc.iris
    from parc
    join annees on annees.annee = parc.annee
    union
    select annee, unite as iris
    from classement
),

final as (
    select
        iris_de_l_annee.annee,
        -- an IRIS code starts with its commune's code; current COG (21213 → 21452)
        coalesce(communes.code_actuel, left(iris_de_l_annee.iris, 5))     as commune,
        iris_de_l_annee.iris,
        annees.annee_enquete,
        classement.c1,
        classement.c2,
        classement.c3,
        classement.c1_atteint,
        classement.c2_atteint,
        classement.c3_atteint,
        classement.nb_criteres,
        classement.classe,
        coalesce(classement.nb_menages, 0)                                 as nb_menages,
        -- what the disclosure rule reads: a unit under the threshold has no class, a criterion
        -- whose own base is under it is not published (indicators.md, section F)
        coalesce(classement.effectif_suffisant, false)                     as effectif_suffisant,
        classement.c1_denominateur,
        classement.c2_denominateur,
        classement.c3_denominateur,
        -- null (not 0) when the RPLS millésime of the year is missing
        case when millesimes_rpls.annee is not null
            then coalesce(parc.nb_logements, 0) end                        as nb_logements,
        case when millesimes_rpls.annee is not null
            then coalesce(parc.nb_logements_qpv, 0) end                    as nb_logements_qpv,
        'OPS ' || annees.annee_enquete
            || coalesce(', RPLS ' || millesimes_rpls.annee, '')            as source
    from iris_de_l_annee
    join annees on annees.annee = iris_de_l_annee.annee
    left join classement
        on classement.annee = iris_de_l_annee.annee
        and classement.unite = iris_de_l_annee.iris
    left join parc
        on parc.annee = iris_de_l_annee.annee
        and parc.iris = iris_de_l_annee.iris
    left join millesimes_rpls on millesimes_rpls.annee = iris_de_l_annee.annee
    left join communes on communes.code_insee = left(iris_de_l_annee.iris, 5)
)

select * from final
{{ annee_filter() }}
