{#- Household rules of the attribution objectives (indicators.md, section A; data-contract.md, UC).
    Every model that needs a household's UC or quartile uses these macros: the rule is written once. -#}

{#- Units of consumption: 1 for the first adult, 0,5 for every other person aged 14 or more, 0,3 for
    every child under 14. Decimal literals keep the result exact (1,3 is 1.3, not 1.2999…). -#}
{% macro uc(nb_personnes, enfants_moins_14) -%}
    (1 + 0.5 * ({{ nb_personnes }} - 1 - {{ enfants_moins_14 }}) + 0.3 * {{ enfants_moins_14 }})
{%- endmacro %}

{#- Resources per UC per year (€): REVENU_MENSUEL × 12 / UC, for display and distributions. The
    quartile below does not divide: it compares the annual income with threshold × UC. -#}
{% macro ressources_par_uc(revenu_mensuel, nb_personnes, enfants_moins_14) -%}
    ({{ revenu_mensuel }} * 12 / {{ uc(nb_personnes, enfants_moins_14) }})
{%- endmacro %}

{#- Quartile 1–4 of a household against the thresholds of the year (€ per UC per year): strictly
    below Q1 → 1, below Q2 → 2, below Q3 → 3, else 4; null when the income or the thresholds are
    unknown. « Resources per UC below Q » is evaluated as « income × 12 < Q × UC » in decimals, so
    that an income exactly at a threshold (1 054,25 €/month for 1,5 UC in 2020, Q1 = 8 434) is never
    put below it by a rounding of the division. -#}
{% macro quartile(revenu_mensuel, nb_personnes, enfants_moins_14, q1, q2, q3) -%}
    {%- set annuel = "cast(" ~ revenu_mensuel ~ " as decimal(18, 2)) * 12" -%}
    {%- set uc_menage = uc(nb_personnes, enfants_moins_14) -%}
    case
        when {{ revenu_mensuel }} is null or {{ q1 }} is null or {{ uc_menage }} is null then null
        when {{ annuel }} < {{ q1 }} * {{ uc_menage }} then 1
        -- above Q1 without Q2 and Q3: which of the quartiles 2–4 is unknown
        when {{ q2 }} is null or {{ q3 }} is null then null
        when {{ annuel }} < {{ q2 }} * {{ uc_menage }} then 2
        when {{ annuel }} < {{ q3 }} * {{ uc_menage }} then 3
        else 4
    end
{%- endmacro %}

{#- Strictly below Q1 (the 1st quartile), which needs Q1 only: true, false, or null when the income or
    Q1 is unknown. The objectives of the law read this, not the quartile, so that a year whose Q1 is
    known but Q2 and Q3 are not still has its 1st-quartile households. -#}
{% macro sous_q1(revenu_mensuel, nb_personnes, enfants_moins_14, q1) -%}
    {%- set annuel = "cast(" ~ revenu_mensuel ~ " as decimal(18, 2)) * 12" -%}
    {%- set uc_menage = uc(nb_personnes, enfants_moins_14) -%}
    case
        when {{ revenu_mensuel }} is null or {{ q1 }} is null or {{ uc_menage }} is null then null
        else {{ annuel }} < {{ q1 }} * {{ uc_menage }}
    end
{%- endmacro %}

{#- Whether the run's extracts are the demo's: OBSERVATOIRE_DONNEES_FICTIVES = oui, set by the Dagster
    dbt ops from the data folder's demo marker (pipeline.assets.dbt.dbt_env). Unset means real data:
    a referential value marked `demo` is then never used. Read when the model runs (`execute`), not
    while dbt parses: what dbt reads while parsing, it records, and parses the file again each time the
    value differs (a home's first run, from the parse prepared without it). -#}
{% macro donnees_fictives() -%}
    {%- if execute -%}{{ env_var('OBSERVATOIRE_DONNEES_FICTIVES', 'non') == 'oui' }}{%- else -%}False{%- endif -%}
{%- endmacro %}

{#- The resource thresholds of the EPCI a run may use (ref_seuils_quartiles): every value on the demo;
    on real data a value whose source is `demo` (or missing) is null — a legal objective is never
    judged against an invented threshold. One row per year of the referential; `raison` says what to
    enter when Q1 is not usable. -#}
{% macro seuils_quartiles_utilisables() -%}
    select
        annee,
        case when {{ valeur_utilisable('source_q1') }} then q1 end                as q1,
        case when {{ valeur_utilisable('source_q2_q3') }} then q2 end             as q2,
        case when {{ valeur_utilisable('source_q2_q3') }} then q3 end             as q3,
        case when not {{ valeur_utilisable('source_q1') }} then
            'seuil Q1 de ' || annee || ' marqué demo dans ref_seuils_quartiles (données réelles) : saisissez '
            || 'Q1, Q2 et Q3 de l''arrêté ministériel de ' || annee || ' pour l''EPCI, avec leur source'
        end                                                                       as raison_q1
    from {{ ref('ref_seuils_quartiles') }}
    where epci_siren = {{ epci_siren() }}
{%- endmacro %}

{#- A referential value is usable when it has a source, and that source is not `demo` — unless the run
    is the demo's. -#}
{% macro valeur_utilisable(source) -%}
    ({{ source }} is not null and ({{ donnees_fictives() }} or {{ source }} <> 'demo'))
{%- endmacro %}

{#- Why a year has no usable Q1 when it is not in the referential at all. -#}
{% macro raison_q1_absent(annee) -%}
    'seuil Q1 de ' || {{ annee }} || ' absent de ref_seuils_quartiles : saisissez Q1, Q2 et Q3 de l''arrêté '
    || 'ministériel de ' || {{ annee }} || ' pour l''EPCI, avec leur source'
{%- endmacro %}

{#- The EPCI whose thresholds apply (SIREN, as the seeds carry it); Dijon métropole by default. Read when
    the model runs, as donnees_fictives(). -#}
{% macro epci_siren() -%}
    '{%- if execute -%}{{ env_var("OBSERVATOIRE_EPCI", "242100410") }}{%- endif -%}'
{%- endmacro %}
