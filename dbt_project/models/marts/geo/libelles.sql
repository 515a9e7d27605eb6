-- The names of the codes the published tables use, one row per dimension × code: what the atlas and
-- the readers of the CSV print beside a code. From the referentials (communes in their current COG,
-- QPV, bailleurs, réservataires, the EPCI), the bailleurs' résidences (latest name given) and the IRIS contours;
-- plus one qualifier of the referentials, dimension « sru »: the communes subject to the loi SRU.
with

communes as (
    select * from {{ ref('ref_communes') }}
    where code_insee = code_actuel
),

qpv as (
    select * from {{ ref('ref_qpv') }}
),

bailleurs as (
    select * from {{ ref('ref_bailleurs') }}
),

reservataires as (
    select * from {{ ref('ref_reservataires') }}
),

epci as (
    select * from {{ ref('ref_epci') }}
),

residences as (
    select residence_id, nom
    from {{ ref('stg_bailleurs__residences') }}
    where nullif(trim(nom), '') is not null
    qualify row_number() over (partition by residence_id order by annee desc) = 1
),

iris as (
    select iris, nom
    from {{ ref('stg_geo__iris') }}
    where nullif(trim(nom), '') is not null
    qualify row_number() over (partition by iris order by annee desc) = 1
),

final as (
    select 'commune' as dimension, code_insee as code, nom as libelle from communes
    union all
    -- a qualifier, not a name: the communes subject to article 55 of the loi SRU (ref_communes)
    select 'sru', code_insee, 'commune soumise à l''article 55 de la loi SRU' from communes where sru
    union all
    select 'qpv', code_qpv, nom from qpv
    union all
    select 'bailleur', code, nom from bailleurs
    union all
    select 'reservataire', code, nom from reservataires
    union all
    select 'epci', epci_siren, nom from epci
    union all
    select 'residence', residence_id, nom from residences
    union all
    select 'iris', iris, nom from iris
)

select * from final
