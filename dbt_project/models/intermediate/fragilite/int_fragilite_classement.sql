-- The fragility class in force each year for every IRIS and résidence: the classification of the
-- survey that stands for the year (int_ops_annees: the survey of the year, or the previous one
-- carried one year). « Fragile » in the indicators of section B (7, 10) means two criteria met or
-- more — the classes fragile and très fragile of section D — and is decided here, once.
with

annees as (
    select * from {{ ref('int_ops_annees') }}
),

unites as (
    select * from {{ ref('int_fragilite_unites') }}
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
        -- a unit under the disclosure threshold has no class, so it is never fragile
        coalesce(unites.nb_criteres >= 2, false)                           as est_fragile
    from annees
    join unites on unites.annee_enquete = annees.annee_enquete
)

select * from final
