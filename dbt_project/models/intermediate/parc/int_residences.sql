-- Every résidence of every year (action 5.10 of the CIA) with what the sources say of it, decided
-- once: its bailleur, commune (current COG), QPV, name, label « bas loyer » and adapted dwellings as
-- the bailleurs' extract gives them (it defines the résidences), else as the RPLS dwellings of the
-- year say (the résidence is in the QPV holding most of its dwellings), else as its OPS respondents
-- of the survey standing for the year say; and its RPLS dwellings that year. Read by
-- fragilite_residence and diag_residences.
with

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

annees as (
    select * from {{ ref('int_ops_annees') }}
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

-- what each source says of a résidence: the bailleurs' extract first, then the RPLS dwellings of
-- the year, then the surveyed households of the survey standing for the year
attributs as (
    select
        residences.annee,
        residences.residence_id,
        1                                                                  as priorite,
        residences.nom,
        residences.bailleur,
        coalesce(communes.code_actuel, residences.code_insee)              as commune,
        residences.code_qpv,
        residences.label_bas_loyer,
        residences.nb_logements_adaptes
    from residences
    left join communes on communes.code_insee = residences.code_insee
    union all
    select annee, residence_id, 2, null, bailleur, commune, code_qpv, null, null
    from parc
    union all
    select annees.annee, menages_par_residence.residence_id, 3, null, menages_par_residence.bailleur,
        menages_par_residence.commune, menages_par_residence.code_qpv, null, null
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
        attributs_retenus.residence_id,
        attributs_retenus.nom,
        attributs_retenus.bailleur,
        attributs_retenus.commune,
        attributs_retenus.code_qpv,
        attributs_retenus.label_bas_loyer,
        attributs_retenus.nb_logements_adaptes,
        -- null (not 0) when the RPLS millésime of the year is missing
        case when millesimes_rpls.annee is not null
            then coalesce(parc.nb_logements, 0) end                        as nb_logements,
        case when millesimes_rpls.annee is not null
            then coalesce(parc.nb_logements_qpv, 0) end                    as nb_logements_qpv
    from attributs_retenus
    left join parc
        on parc.annee = attributs_retenus.annee
        and parc.residence_id = attributs_retenus.residence_id
    left join millesimes_rpls on millesimes_rpls.annee = attributs_retenus.annee
)

select * from final
