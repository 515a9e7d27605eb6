-- The attribution side of the demand diagnostic (indicators.md, section C): every attribution
-- prononcée (the rule is int_attributions_qualifiees', never rewritten here) with the demand-side
-- words of the tension and délai tables — age class, type of demand, délai d'attribution — so that
-- a tension's denominator is counted on the same members as its numerator (int_demandes_actives).
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
),

final as (
    select
        annee,
        mois,
        date_cal,
        date_depot,
        num_unique,
        bailleur,
        -- the dwelling's typology and commune
        typologie,
        code_insee                                                               as commune,
        est_qpv,
        quartile,
        age_demandeur,
        {{ classe_age('age_demandeur') }}                                        as classe_age,
        -- a demander already tenant of the parc social is a demand for a mutation
        case when est_mutation then 'MUTATION' else 'EXTERNE' end                as type_demande,
        est_bail_signe,
        date_bail,
        -- délai d'attribution: from the filing to the CALEOL (PPGDID section 7)
        {{ delai_mois('date_depot', 'date_cal') }}                               as delai_attribution_mois
    from attributions
    where est_prononcee
)

select * from final
