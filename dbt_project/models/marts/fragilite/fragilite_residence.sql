{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Fragility of occupation by résidence (indicators.md, sections D and E; action 5.10 of the CIA):
-- for every résidence of the year — in the bailleurs' extract, in the RPLS or with OPS respondents —
-- the criteria C1–C3, the number met and the class of the survey that stands for the year
-- (int_ops_annees, annee_enquete), with its RPLS dwellings that year. A résidence without
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
    select * from {{ ref('stg_bailleurs__residences') }}
),

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    where nullif(trim(residence_id), '') is not null
),

menages as (
    select * from {{ ref('int_ops_menages') }}
    where residence_id is not null
),

communes as (
    select * from {{ ref('ref_communes') }}
),

millesimes_rpls as (
    select distinct annee from {{ ref('stg_rpls__logements') }}
),

parc as (
    select
        logements.annee,
        logements.residence_id,
        count(*)                                                           as nb_logements,
        count(*) filter (where logements.est_qpv)                          as nb_logements_qpv,
        mode(logements.bailleur)                                           as bailleur,
        mode(coalesce(communes.code_actuel, logements.code_insee))         as commune,
        -- a résidence is in the QPV holding most of its dwellings
        case when count(logements.code_qpv) * 2 > count(*)
            then mode(logements.code_qpv) end                              as code_qpv
    from logements
    left join communes on communes.code_insee = logements.code_insee
    group by logements.annee, logements.residence_id
),

menages_par_residence as (
    select
        annee_enquete,
        residence_id,
        mode(bailleur)                                                     as bailleur,
        mode(commune)                                                      as commune,
        case when count(code_qpv) * 2 > count(*) then mode(code_qpv) end   as code_qpv
    from menages
    group by annee_enquete, residence_id
),

-- what each source says of a résidence: the bailleurs' extract first (it defines the résidences),
-- then the RPLS dwellings of the year, then the surveyed households
attributs as (
    select
        residences.annee,
        residences.residence_id,
        1                                                                  as priorite,
        residences.nom,
        residences.bailleur,
        coalesce(communes.code_actuel, residences.code_insee)              as commune,
        residences.code_qpv
    from residences
    left join communes on communes.code_insee = residences.code_insee
    union all
    select annee, residence_id, 2, null, bailleur, commune, code_qpv
    from parc
    union all
    select annees.annee, menages_par_residence.residence_id, 3, null, menages_par_residence.bailleur,
        menages_par_residence.commune, menages_par_residence.code_qpv
    from menages_par_residence
    join annees on annees.annee_enquete = menages_par_residence.annee_enquete
),

attributs_retenus as (
    select *
    from attributs
    qualify row_number() over (partition by annee, residence_id order by priorite) = 1
),

final as (
    select
        attributs_retenus.annee,
        attributs_retenus.bailleur,
        attributs_retenus.commune,
        coalesce(attributs_retenus.code_qpv, 'HORS_QPV')                   as qpv,
        attributs_retenus.residence_id                                     as residence,
        attributs_retenus.nom                                              as nom_residence,
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
    from attributs_retenus
    -- only the years a survey stands for (int_ops_annees)
    join annees on annees.annee = attributs_retenus.annee
    left join classement
        on classement.annee = attributs_retenus.annee
        and classement.unite = attributs_retenus.residence_id
    left join parc
        on parc.annee = attributs_retenus.annee
        and parc.residence_id = attributs_retenus.residence_id
    left join millesimes_rpls on millesimes_rpls.annee = attributs_retenus.annee
)

select * from final
{{ annee_filter() }}
