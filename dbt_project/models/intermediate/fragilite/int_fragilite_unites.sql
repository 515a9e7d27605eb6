-- Fragility of occupation (indicators.md, section D; CIA section 2.3.1, action 5.10), decided once
-- for every IRIS and every résidence of every OPS survey, on its responding households:
--   C1 = share of households below 40 % of the PLUS ceiling,
--   C2 = the same share among the households moved in during the last three years,
--   C3 = share of adults unemployed;
-- a criterion is met when its share reaches the threshold of the referential (equality meets it),
-- and the class is the referential's name for the number of criteria met. A criterion whose share
-- has nothing to divide (e.g. no recent mover) is not met. A unit with fewer responding households
-- than the disclosure threshold (ref_secret_statistique, SEUIL: 11, indicators.md section F) gets no
-- verdict on any criterion (c1_atteint… null, not false) and no class (« effectif insuffisant »): a class on a handful of households is
-- neither reliable nor publishable, and a class never computed cannot leak through the tables that
-- list fragile units (ind_07, ind_10) or count dwellings by class (ind_05). The comparison « num ≥ seuil × den » is
-- made in decimals, so that equality holds for any threshold a CIL may set: in binary floating point
-- 0,28 × 25 is 7.000000000000001, and a unit with exactly 7 out of 25 would miss a 28 % threshold.
with

mesures as (
    select * from {{ ref('int_ops_mesures') }}
    where mesure in ('MENAGES_SOUS_40_PLUS', 'EMMENAGES_RECENTS_SOUS_40_PLUS', 'MAJEURS_CHOMAGE')
),

seuils as (
    select
        max(seuil) filter (where critere = 'C1')                           as seuil_c1,
        max(seuil) filter (where critere = 'C2')                           as seuil_c2,
        max(seuil) filter (where critere = 'C3')                           as seuil_c3
    from {{ ref('ref_seuils_fragilite') }}
    where nature = 'critere'
),

secret as (
    select cast(valeur as integer)                                         as seuil_effectif
    from {{ ref('ref_secret_statistique') }}
    where parametre = 'SEUIL'
),

classes as (
    select
        cast(seuil as integer)                                             as nb_criteres,
        libelle                                                            as classe
    from {{ ref('ref_seuils_fragilite') }}
    where nature = 'classe'
),

-- the two mailles of section D: the IRIS and the bailleurs' résidences
menages_par_unite as (
    select annee_enquete, 'IRIS' as maille, iris as unite, mesure, numerateur, denominateur
    from mesures
    where iris is not null
    union all
    select annee_enquete, 'RESIDENCE' as maille, residence_id as unite, mesure, numerateur, denominateur
    from mesures
    where residence_id is not null
),

comptes as (
    select
        annee_enquete,
        maille,
        unite,
        -- every responding household has one row per measure
        count(*) filter (where mesure = 'MENAGES_SOUS_40_PLUS')                          as nb_menages,
        sum(numerateur) filter (where mesure = 'MENAGES_SOUS_40_PLUS')                   as c1_numerateur,
        sum(denominateur) filter (where mesure = 'MENAGES_SOUS_40_PLUS')                 as c1_denominateur,
        sum(numerateur) filter (where mesure = 'EMMENAGES_RECENTS_SOUS_40_PLUS')         as c2_numerateur,
        sum(denominateur) filter (where mesure = 'EMMENAGES_RECENTS_SOUS_40_PLUS')       as c2_denominateur,
        sum(numerateur) filter (where mesure = 'MAJEURS_CHOMAGE')                        as c3_numerateur,
        sum(denominateur) filter (where mesure = 'MAJEURS_CHOMAGE')                      as c3_denominateur
    from menages_par_unite
    group by annee_enquete, maille, unite
),

criteres as (
    select
        comptes.*,
        comptes.nb_menages >= secret.seuil_effectif                                      as effectif_suffisant,
        {{ taux('c1_numerateur', 'c1_denominateur') }}                                   as c1,
        {{ taux('c2_numerateur', 'c2_denominateur') }}                                   as c2,
        {{ taux('c3_numerateur', 'c3_denominateur') }}                                   as c3,
        case when comptes.nb_menages < secret.seuil_effectif then null
            when c1_denominateur > 0
            then c1_numerateur >= cast(seuils.seuil_c1 as decimal(18, 6)) * c1_denominateur
            else false end                                                               as c1_atteint,
        case when comptes.nb_menages < secret.seuil_effectif then null
            when c2_denominateur > 0
            then c2_numerateur >= cast(seuils.seuil_c2 as decimal(18, 6)) * c2_denominateur
            else false end                                                               as c2_atteint,
        case when comptes.nb_menages < secret.seuil_effectif then null
            when c3_denominateur > 0
            then c3_numerateur >= cast(seuils.seuil_c3 as decimal(18, 6)) * c3_denominateur
            else false end                                                               as c3_atteint
    from comptes
    left join seuils on true
    left join secret on true
),

final as (
    select
        criteres.annee_enquete,
        criteres.maille,
        criteres.unite,
        criteres.nb_menages,
        criteres.c1_numerateur,
        criteres.c1_denominateur,
        criteres.c1,
        criteres.c2_numerateur,
        criteres.c2_denominateur,
        criteres.c2,
        criteres.c3_numerateur,
        criteres.c3_denominateur,
        criteres.c3,
        criteres.c1_atteint,
        criteres.c2_atteint,
        criteres.c3_atteint,
        criteres.effectif_suffisant,
        case when criteres.effectif_suffisant
            then cast(criteres.c1_atteint as integer) + cast(criteres.c2_atteint as integer)
                + cast(criteres.c3_atteint as integer) end                               as nb_criteres,
        classes.classe
    from criteres
    left join classes
        on criteres.effectif_suffisant
        and classes.nb_criteres = cast(criteres.c1_atteint as integer)
            + cast(criteres.c2_atteint as integer) + cast(criteres.c3_atteint as integer)
)

select * from final
