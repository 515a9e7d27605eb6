-- The occupation measures of the OPS (indicators 6 and 7, and the fragility criteria C1–C3 of
-- section D), written once: one row per responding household × measure, with what the household
-- adds to the measure's numerator and denominator. A share at any level (IRIS, résidence, commune,
-- QPV) is sum(numerateur) / sum(denominateur) over its households. A household whose answer to the
-- question is unknown adds to neither, so an unanswered question never counts as a « no ».
with

menages as (
    select * from {{ ref('int_ops_menages') }}
),

mesures as (
    -- C1: households below 40 % of the PLUS ceiling
    select
        *,
        'MENAGES_SOUS_40_PLUS'                                             as mesure,
        case when sous_seuil_ressources then 1 else 0 end                  as numerateur,
        case when sous_seuil_ressources is not null then 1 else 0 end      as denominateur
    from menages

    union all
    -- C2: the same share among the households moved in during the last three years
    select
        *,
        'EMMENAGES_RECENTS_SOUS_40_PLUS',
        case when est_emmenage_recent and sous_seuil_ressources then 1 else 0 end,
        case when est_emmenage_recent and sous_seuil_ressources is not null then 1 else 0 end
    from menages

    union all
    -- C3: adults unemployed among the adults of the households
    select
        *,
        'MAJEURS_CHOMAGE',
        case when nb_majeurs is not null and nb_majeurs_chomage is not null then nb_majeurs_chomage else 0 end,
        case when nb_majeurs is not null and nb_majeurs_chomage is not null then nb_majeurs else 0 end
    from menages

    union all
    select
        *,
        'EMMENAGES_RECENTS',
        case when est_emmenage_recent then 1 else 0 end,
        case when est_emmenage_recent is not null then 1 else 0 end
    from menages

    union all
    select
        *,
        'FAMILLES_MONOPARENTALES',
        case when composition = 'FAMILLE_MONOPARENTALE' then 1 else 0 end,
        case when composition is not null then 1 else 0 end
    from menages

    union all
    select
        *,
        'PERSONNES_SEULES',
        case when composition = 'PERSONNE_SEULE' then 1 else 0 end,
        case when composition is not null then 1 else 0 end
    from menages

    union all
    select
        *,
        'MENAGES_APL',
        case when est_apl then 1 else 0 end,
        case when est_apl is not null then 1 else 0 end
    from menages
),

final as (
    select
        annee_enquete,
        logement_id,
        bailleur,
        residence_id,
        commune,
        iris,
        code_qpv,
        mesure,
        cast(numerateur as integer)                                        as numerateur,
        cast(denominateur as integer)                                      as denominateur
    from mesures
)

select * from final
