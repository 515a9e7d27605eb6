-- The fragility class in force each year for every IRIS and résidence: the classification of the
-- survey that stands for the year (int_ops_annees: the survey of the year, or the previous one
-- carried one year). « Fragile » in the indicators of section B (7, 10) means the classes fragile and
-- très fragile of section D: at least the number of criteria of the referential's parameter FRAGILE
-- (ref_seuils_fragilite, 2), so a CIL that moves the classes moves the fragile résidences with them;
-- decided here, once.
with

annees as (
    select * from {{ ref('int_ops_annees') }}
),

unites as (
    select * from {{ ref('int_fragilite_unites') }}
),

seuil_fragile as (
    select cast(seuil as integer) as nb_criteres_min
    from {{ ref('ref_seuils_fragilite') }}
    where nature = 'parametre' and critere = 'FRAGILE'
),

final as (
    select
        annees.annee,
        annees.annee_enquete,
        annees.annee_enquete_precedente,
        unites.maille,
        unites.unite,
        unites.nb_menages,
        unites.c1_numerateur,
        unites.c1_denominateur,
        unites.c2_numerateur,
        unites.c2_denominateur,
        unites.c3_numerateur,
        unites.c3_denominateur,
        unites.c1,
        unites.c2,
        unites.c3,
        unites.c1_atteint,
        unites.c2_atteint,
        unites.c3_atteint,
        unites.nb_criteres,
        unites.classe,
        unites.effectif_suffisant,
        -- a unit under the disclosure threshold has no class, so it is never fragile; without the
        -- parameter in the referential nothing is fragile (never a guessed threshold)
        coalesce(unites.nb_criteres >= seuil_fragile.nb_criteres_min, false) as est_fragile
    from annees
    join unites on unites.annee_enquete = annees.annee_enquete
    left join seuil_fragile on true
)

select * from final
