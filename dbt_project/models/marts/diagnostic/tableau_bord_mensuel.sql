{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Monthly dashboard (indicators.md, section C; the fichier partagé's « statistiques » page): for each
-- month with a demand snapshot and each typology (TOTAL included), one row per mesure:
--   demandes_actives       active demands at the end of the month (wished typology);
--   nouvelles_demandes     of which filed during the month (DATE_DEPOT in the month);
--   parc                   dwellings of the parc social, RPLS millésime of the year (1 January);
--   attributions_12_mois   attributions prononcées of the 12 months ending with the month;
--   baux_signes_12_mois    of which followed by a signed lease (the fichier partagé's own count).
-- Every typology seen in a month has a row for each mesure whose source is in the warehouse (0 when
-- none); a mesure whose source is missing has no row (« non renseigné »).
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

-- the 12 months before a January reach into the previous year
attributions as (
    select * from {{ ref('int_demandes_attribuees') }}
    {{ annee_filter_avec_precedente() }}
),

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

annees_examens as (
    select distinct annee from {{ ref('stg_sne__attributions') }}
),

situations as (
    select distinct annee, mois, date_situation from demandes
),

lignes as (
    select annee, mois, coalesce(typologie, 'INCONNUE') as typologie, 'demandes_actives' as mesure,
           1 as compte
    from demandes
    union all
    select annee, mois, coalesce(typologie, 'INCONNUE'), 'nouvelles_demandes',
           case when date_trunc('month', date_depot) = make_date(annee, mois, 1) then 1 else 0 end
    from demandes
    union all
    select situations.annee, situations.mois, coalesce(logements.typologie, 'INCONNUE'), 'parc', 1
    from situations
    join logements on logements.annee = situations.annee
    union all
    select situations.annee, situations.mois, coalesce(attributions.typologie, 'INCONNUE'),
           'attributions_12_mois', 1
    from situations
    join annees_examens on annees_examens.annee = situations.annee
    join attributions
        on {{ dans_les_12_mois('attributions.date_cal', 'situations.date_situation') }}
    union all
    select situations.annee, situations.mois, coalesce(attributions.typologie, 'INCONNUE'),
           'baux_signes_12_mois', case when attributions.est_bail_signe then 1 else 0 end
    from situations
    join annees_examens on annees_examens.annee = situations.annee
    join attributions
        on {{ dans_les_12_mois('attributions.date_cal', 'situations.date_situation') }}
),

comptes as (
    select
        annee,
        mois,
        mesure,
        case when grouping(typologie) = 1 then 'TOTAL' else typologie end         as typologie,
        cast(sum(compte) as bigint)                                               as nombre
    from lignes
    group by grouping sets ((annee, mois, mesure), (annee, mois, mesure, typologie))
),

-- the grid: every typology of the month × every mesure present that month
membres as (
    select distinct annee, mois, typologie from comptes
),

mesures as (
    select distinct annee, mois, mesure from comptes
),

final as (
    select
        membres.annee,
        membres.mois,
        membres.typologie,
        mesures.mesure,
        coalesce(comptes.nombre, 0)                                               as numerateur,
        cast(null as bigint)                                                      as denominateur,
        coalesce(comptes.nombre, 0)                                               as valeur,
        case mesures.mesure
            when 'parc' then 'RPLS ' || membres.annee
            else 'Fichier partagé ' || membres.annee || '-' || lpad(cast(membres.mois as varchar), 2, '0')
        end                                                                       as source
    from membres
    join mesures
        on mesures.annee = membres.annee
        and mesures.mois = membres.mois
    left join comptes
        on comptes.annee = membres.annee
        and comptes.mois = membres.mois
        and comptes.typologie = membres.typologie
        and comptes.mesure = mesures.mesure
)

select * from final
