{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 20, « Nombre de logements en accession sociale commercialisés et part des occupants du
-- parc social parmi les accédants » (indicators.md, section B), as entered by the métropole (saisie
-- ind_20): dwellings sold during the year, buyers, buyers coming from the parc social (macro
-- mart_accession, shared with indicator 22). Missing saisie: « non renseigné », never zero.
{{ mart_accession('stg_saisies__ind_20') }}
