{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 1, « Avancement des projets de rénovation urbaine » (indicators.md, section B), as
-- entered by the métropole (saisie ind_01): for each NPNRU project on 31 December, its QPV, its
-- stage (PROTOCOLE, CONVENTION_SIGNEE, TRAVAUX, CLOTURE) and one row per mesure — dwellings
-- demolished, rebuilt, rehabilitated, households relogés, cumulated since the start of the project —
-- with the total of the projects (projet = qpv = etape = TOTAL). A year with an atlas (RPLS) and no
-- saisie has the four TOTAL rows with no figure and their reason: « non renseigné », never zero.
with

saisies as (
    select * from {{ ref('stg_saisies__ind_01') }}
    {{ annee_filter() }}
),

sans_saisie as (
    {{ annees_sans_saisie('stg_saisies__ind_01') }}
),

projets as (
    select
        annee,
        projet,
        coalesce(code_qpv, 'INCONNU')                                             as qpv,
        coalesce(etape, 'INCONNUE')                                               as etape,
        mesure,
        nombre
    from saisies
    unpivot (nombre for mesure in (logements_demolis, logements_reconstruits, logements_rehabilites,
                                   menages_reloges))
),

comptes as (
    select
        annee,
        -- a project has one QPV and one stage: its row and the total of the projects
        case when grouping(projet) = 1 then 'TOTAL' else projet end               as projet,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        case when grouping(etape) = 1 then 'TOTAL' else etape end                 as etape,
        mesure,
        cast(sum(nombre) as bigint)                                               as nombre
    from projets
    group by grouping sets ((annee, mesure), (annee, mesure, projet, qpv, etape))
),

final as (
    select
        annee,
        projet,
        qpv,
        etape,
        mesure,
        nombre                                                                    as numerateur,
        cast(null as bigint)                                                      as denominateur,
        nombre                                                                    as valeur,
        cast(null as varchar)                                                     as raison,
        'Saisie métropole ' || annee                                              as source
    from comptes
    union all
    select
        sans_saisie.annee,
        'TOTAL',
        'TOTAL',
        'TOTAL',
        membres.mesure,
        null,
        null,
        null,
        {{ raison_saisie_absente() }},
        null
    from sans_saisie
    cross join (values ('logements_demolis'), ('logements_reconstruits'), ('logements_rehabilites'),
                       ('menages_reloges')) as membres (mesure)
)

select * from final
