{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Fragility of occupation by résidence (indicators.md, sections D and E; action 5.10 of the CIA):
-- for every résidence of the year (int_residences: in the bailleurs' extract, in the RPLS or with OPS
-- respondents) the criteria C1–C3, the number met and the class of the survey that stands for the
-- year (int_ops_annees, annee_enquete), with its RPLS dwellings that year. A résidence without
-- respondents has nb_menages = 0 and no class (« non renseigné »). The disclosure rule (class of
-- fewer than 11 households not published) is applied by the publication layer.
with

classement as (
    select * from {{ ref('int_fragilite_classement') }}
    where maille = 'RESIDENCE'
),

annees as (
    select * from {{ ref('int_ops_annees') }}
),

residences as (
    select * from {{ ref('int_residences') }}
),

final as (
    select
        residences.annee,
        residences.bailleur,
        residences.commune,
        coalesce(residences.code_qpv, 'HORS_QPV')                          as qpv,
        residences.residence_id                                            as residence,
        residences.nom                                                     as nom_residence,
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
        residences.nb_logements,
        residences.nb_logements_qpv,
        'OPS ' || annees.annee_enquete
            || case when residences.nb_logements is not null then ', RPLS ' || residences.annee else '' end
                                                                           as source
    from residences
    -- only the years a survey stands for (int_ops_annees)
    join annees on annees.annee = residences.annee
    left join classement
        on classement.annee = residences.annee
        and classement.unite = residences.residence_id
)

select * from final
{{ annee_filter() }}
