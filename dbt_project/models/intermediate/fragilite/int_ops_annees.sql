-- Which OPS survey stands for each year (indicators.md, section D; the OPS is surveyed every two
-- years, situation on 1 January). The choice of the observatoire, written once: a year is described
-- by the latest survey of that year or before, carried for at most `ops_anciennete_max` years
-- (default 1: a survey stands for its own year and the next one, until the following survey); a
-- year with no such survey is « non renseigné » (it has no row here, so no fragility row either).
-- Every table built on the OPS shows the survey it used (annee_enquete) and compares it with the
-- survey before (annee_enquete_precedente).
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
),

ops as (
    select * from {{ ref('stg_ops__logements') }}
),

-- the years the warehouse describes: those of an RPLS millésime or of a survey
annees as (
    select distinct annee from logements
    union
    select distinct annee from ops
),

-- a survey counts once someone answered it
enquetes as (
    select
        annee                                                              as annee_enquete,
        lag(annee) over (order by annee)                                   as annee_enquete_precedente
    from (select distinct annee from ops where repondant) as annees_enquete
),

derniere_enquete as (
    select
        annees.annee,
        max(enquetes.annee_enquete)                                        as annee_enquete
    from annees
    join enquetes on enquetes.annee_enquete <= annees.annee
    group by annees.annee
),

final as (
    select
        derniere_enquete.annee,
        derniere_enquete.annee_enquete,
        enquetes.annee_enquete_precedente
    from derniere_enquete
    join enquetes on enquetes.annee_enquete = derniere_enquete.annee_enquete
    where derniere_enquete.annee - derniere_enquete.annee_enquete <= {{ var('ops_anciennete_max', 1) }}
)

select * from final
