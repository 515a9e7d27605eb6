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
        when {{ annuel }} < {{ q2 }} * {{ uc_menage }} then 2
        when {{ annuel }} < {{ q3 }} * {{ uc_menage }} then 3
        else 4
    end
{%- endmacro %}

{#- The EPCI whose thresholds apply (SIREN, as the seeds carry it); Dijon métropole by default. -#}
{% macro epci_siren() -%}
    '{{ env_var("OBSERVATOIRE_EPCI", "242100410") }}'
{%- endmacro %}
