{#- The class a dwelling is counted under in ind_05, from its unit's row of int_fragilite_classement
    (`alias`, left-joined): « non renseigné » when the unit has no respondent (no row), « effectif
    insuffisant » when it has respondents but fewer than the disclosure threshold (no class computed,
    int_fragilite_unites), else the referential's class. -#}
{% macro classe_publiee(alias) -%}
    case
        when {{ alias }}.unite is null then 'non renseigné'
        when not {{ alias }}.effectif_suffisant then 'effectif insuffisant'
        else {{ alias }}.classe
    end
{%- endmacro %}
