{#- Shared shapes of the follow-up (section B) and diagnostic (section C) tables of indicators.md,
    written once: the year filters and the previous year's value of the « Évolution… » indicators,
    the « non renseigné » rows of a saisie not entered (and the body of indicators 20 and 22), the
    QPV, age-class and quartile members, the délai in months, the « 12 derniers mois » window and the
    `source` text of the fichier partagé. -#}

{#- On an incremental build, the run's years and the year before them: an « Évolution… » mart
    carries the previous year's value into the first year of the run, a 12-month window reaches into
    the previous year (the final select filters back with annee_filter()). A full build takes every
    year present. -#}
{% macro annee_filter_avec_precedente(column='annee') -%}
    {%- if is_incremental() -%}
    where {{ column }} between {{ annee_min() }} - 1 and {{ annee_max() }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `cte` (annee, the dimensions, numerateur, denominateur, valeur…) with the previous
    year's valeur of the same dimension members (valeur_precedente) and its numerateur: null when
    the previous year is not in the warehouse or has no such row. -#}
{% macro avec_annee_precedente(cte, dimensions) -%}
    select
        courant.*,
        precedent.numerateur                                    as numerateur_precedent,
        precedent.valeur                                        as valeur_precedente
    from {{ cte }} as courant
    left join {{ cte }} as precedent
        on precedent.annee = courant.annee - 1
        {%- for dimension in dimensions %}
        and precedent.{{ dimension }} = courant.{{ dimension }}
        {%- endfor %}
{%- endmacro %}

{#- The years a saisie-kept indicator is due for and has no saisie: the RPLS millésimes (RPLS is the
    one required source — a year with RPLS has an atlas, whose annex lists every indicator) without a
    row in the saisie's staging view. Such a year gets « non renseigné » rows, never zeros. -#}
{% macro annees_sans_saisie(saisie) -%}
    select distinct annee from {{ ref('stg_rpls__logements') }} {{ annee_filter() }}
    except
    select distinct annee from {{ ref(saisie) }}
{%- endmacro %}

{#- The reason a saisie-kept row has no figure (indicators.md: « non renseigné », never zero). -#}
{% macro raison_saisie_absente() -%}
    'non renseigné : saisie absente'
{%- endmacro %}

{#- The QPV member of a « en / hors QPV » table (catalogue convention: QPV, HORS_QPV, TOTAL). -#}
{% macro qpv_en_hors(est_qpv) -%}
    case when {{ est_qpv }} then 'QPV' else 'HORS_QPV' end
{%- endmacro %}

{#- A délai in months between two dates: days / 30.4375 (the mean Gregorian month), so that a délai
    is continuous and a mean of délais is not biased by whole-month truncation. -#}
{% macro delai_mois(debut, fin) -%}
    (datediff('day', {{ debut }}, {{ fin }}) / 30.4375)
{%- endmacro %}

{#- The age class of the tension tables (indicators.md, section C: < 30, 30–59, 60+). -#}
{% macro classe_age(age) -%}
    case
        when {{ age }} is null then 'INCONNU'
        when {{ age }} < 30 then 'MOINS_30_ANS'
        when {{ age }} < 60 then '30_59_ANS'
        else '60_ANS_ET_PLUS'
    end
{%- endmacro %}

{#- A quartile 1–4 (macro quartile of menages.sql) as a dimension member: Q1…Q4, INCONNU when the
    income or the year's thresholds are missing. -#}
{% macro libelle_quartile(quartile) -%}
    coalesce('Q' || cast({{ quartile }} as varchar), 'INCONNU')
{%- endmacro %}

{#- The « 12 derniers mois » of a situation date: CALEOL dates after the same day one year before,
    up to the situation date included (for a 31 December situation: the calendar year). -#}
{% macro dans_les_12_mois(date_evenement, date_situation) -%}
    ({{ date_evenement }} > {{ date_situation }} - interval 12 month and {{ date_evenement }} <= {{ date_situation }})
{%- endmacro %}

{#- The `source` of a table read on the fichier partagé (demands and CALEOL examinations) at a
    situation date: the year when the year is complete, else the month the figures stop at. -#}
{% macro source_fichier_partage(date_situation) -%}
    case when month({{ date_situation }}) = 12
        then 'Fichier partagé ' || year({{ date_situation }})
        else 'Fichier partagé ' || year({{ date_situation }}) || ' (situation fin '
             || strftime({{ date_situation }}, '%m/%Y') || ')'
    end
{%- endmacro %}

{#- The body of indicators 20 (accession sociale) and 22 (logements intermédiaires), whose saisies
    have the same template: one row per mesure — logements_commercialises, accedants,
    accedants_issus_parc_social (denominateur = accedants: numerateur / denominateur is the share of
    tenants of the parc social among the buyers). A year with an atlas (RPLS) and no saisie has the
    three rows with no figure and their reason. -#}
{% macro mart_accession(saisie) -%}
with

saisies as (
    select * from {{ ref(saisie) }}
    {{ annee_filter() }}
),

sans_saisie as (
    {{ annees_sans_saisie(saisie) }}
),

-- a template has one row per year; summing keeps the grain if a year were entered in two files
comptes as (
    select
        annee,
        cast(sum(logements_commercialises) as bigint)                             as logements_commercialises,
        cast(sum(accedants) as bigint)                                            as accedants,
        cast(sum(accedants_issus_parc_social) as bigint)                          as accedants_issus_parc_social
    from saisies
    group by annee
),

mesures as (
    select annee, 'logements_commercialises' as mesure, logements_commercialises as numerateur,
           cast(null as bigint) as denominateur
    from comptes
    union all
    select annee, 'accedants', accedants, null from comptes
    union all
    select annee, 'accedants_issus_parc_social', accedants_issus_parc_social, accedants from comptes
),

final as (
    select
        annee,
        mesure,
        numerateur,
        denominateur,
        numerateur                                                                as valeur,
        cast(null as varchar)                                                     as raison,
        'Saisie métropole ' || annee                                              as source
    from mesures
    union all
    select
        sans_saisie.annee,
        membres.mesure,
        null,
        null,
        null,
        {{ raison_saisie_absente() }},
        null
    from sans_saisie
    cross join (values ('logements_commercialises'), ('accedants'), ('accedants_issus_parc_social'))
        as membres (mesure)
)

select * from final
{%- endmacro %}
