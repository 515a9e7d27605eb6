-- One row per RPLS dwelling and millésime: contract columns renamed to the model's words, cast,
-- and recoded (QPV flag, typology, product family, "sans objet" rent).
with

source as (
    select * from {{ source_or_empty('raw', 'rpls') }}
),

financements as (
    select * from {{ ref('ref_financements') }}
),

renamed as (
    select
        cast(source."ANNEE" as integer)                     as annee,
        source."IDENT_LOGT"                                 as logement_id,
        source."BAILLEUR"                                   as bailleur,
        source."DEPCOM"                                     as code_insee,
        source."DEPCOM_LIBELLE"                             as libelle_commune,
        source."EPCI_CODE"                                  as epci,
        source."QPV_CODE" = '1'                             as est_qpv,
        nullif(source."PLG_QP", '')                         as code_qpv,
        source."PLG_IRIS"                                   as iris,
        source."TYPECONST_CODE"                             as type_construction,
        source."NBPIECE"                                    as nb_pieces,
        case
            when source."NBPIECE" >= 6 then 'T6'
            when source."NBPIECE" >= 1 then 'T' || source."NBPIECE"
        end                                                 as typologie,
        source."SURFHAB"                                    as surface_habitable,
        source."CONSTRUCT"                                  as annee_construction,
        source."LOCAT"                                      as annee_premiere_location,
        source."FINAN_CODE"                                 as finan_code,
        financements.famille_produit,
        source."CONV" = '1'                                 as conventionne,
        source."DPEENERGIE"                                 as dpe_energie,
        source."DPESERRE"                                   as dpe_serre,
        -- 9999 = sans objet (data-contract.md, RPLS restricted extension)
        nullif(source."LOYERPRINC", 9999)                   as loyer_principal,
        source."SURFMODE"                                   as surface_loyer,
        source."MODESURF"                                   as mode_surface,
        source."MODE"                                       as mode_occupation,
        -- MODE 1 = loué (the base of the rent tables)
        source."MODE" = '1'                                 as est_loue,
        source."CONTINGENT"                                 as contingent,
        source."RESIDENCE_ID"                               as residence_id,
        source."X"                                          as x,
        source."Y"                                          as y,
        source."_LIGNE"                                     as ligne_extrait
    from source
    left join financements on financements.finan_code = source."FINAN_CODE"
),

final as (
    select
        *,
        -- rent over the surface it is set on, whatever its kind (MODESURF): a plausibility figure for
        -- the quality suite only; the rent per m² of surface utile the rules read is
        -- int_logements_loyers' (the one home of the rent rule)
        case when surface_loyer > 0 then loyer_principal / surface_loyer end as loyer_m2_declare
    from renamed
)

select * from final
