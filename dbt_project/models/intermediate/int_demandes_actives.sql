-- The demand side of the diagnostic (indicators.md, section C), decided once for every active demand
-- of every monthly snapshot: the situation date, the waiting time (délai d'attente), the « délai
-- anormalement long », the age class, the household's quartile and its position against the PLAI
-- resource ceilings. The tension, délai, ressources and dashboard marts only count these columns.
with

demandes as (
    select * from {{ ref('stg_sne__demandes') }}
),

-- the thresholds a run may use: on real data, never a value marked demo (macros/menages.sql)
seuils as (
    {{ seuils_quartiles_utilisables() }}
),

plafonds_plai as (
    select * from {{ ref('ref_plafonds_ressources') }}
    where produit = 'PLAI'
),

delais_anormaux as (
    select * from {{ ref('ref_delais_anormaux') }}
    where epci_siren = {{ epci_siren() }}
),

situees as (
    select
        *,
        -- a snapshot AAAA-MM is the situation at the end of that month
        cast(last_day(make_date(annee, mois, 1)) as date)                         as date_situation,
        -- the yearly tables read the last snapshot of the year: 31 December once the year is
        -- complete, the latest month while its extracts are still arriving
        mois = max(mois) over (partition by annee)                               as est_fin_de_periode
    from demandes
),

qualifiees as (
    select
        situees.annee,
        situees.mois,
        situees.date_situation,
        situees.est_fin_de_periode,
        situees.num_unique,
        situees.date_depot,
        situees.type_demande,
        situees.typologie_souhaitee                                              as typologie,
        -- the first commune wished is the demand's commune in the délai tables
        situees.commune_souhaitee_1                                              as commune,
        situees.composition,
        situees.motif_principal,
        situees.age_demandeur,
        {{ classe_age('situees.age_demandeur') }}                                as classe_age,
        situees.nb_personnes,
        situees.nb_enfants_moins_14,
        situees.revenu_mensuel,
        -- délai d'attente: from the filing to the situation date
        {{ delai_mois('situees.date_depot', 'situees.date_situation') }}         as anciennete_mois,
        -- filed strictly more than the préfet's délai before the situation date; null when the
        -- délai of the EPCI is not in the referential
        case when delais_anormaux.delai_mois is not null
            then situees.date_depot < situees.date_situation - to_months(delais_anormaux.delai_mois)
        end                                                                      as est_delai_anormal,
        {{ quartile('situees.revenu_mensuel', 'situees.nb_personnes', 'situees.nb_enfants_moins_14',
                    'seuils.q1', 'seuils.q2', 'seuils.q3') }}                    as quartile,
        -- PLAI ceiling of the household (€/year, ceilings of the year of the situation): the
        -- category is the number of persons up to 6, plus the amount per extra person beyond
        plafonds_plai.plafond
            + greatest(situees.nb_personnes - 6, 0) * plafonds_plai.par_personne_sup as plafond_plai
    from situees
    left join seuils
        on seuils.annee = situees.annee
    left join plafonds_plai
        on plafonds_plai.annee = situees.annee
        and plafonds_plai.categorie = least(greatest(situees.nb_personnes, 1), 6)
    left join delais_anormaux on true
),

final as (
    select
        *,
        -- strictly below, as the quartile: a household at the ceiling is not below it
        cast(revenu_mensuel as decimal(18, 2)) * 12 < plafond_plai             as sous_plafond_plai,
        cast(revenu_mensuel as decimal(18, 2)) * 12 * 3 < plafond_plai         as sous_tiers_plafond_plai
    from qualifiees
)

select * from final
