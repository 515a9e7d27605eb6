-- What the attribution extract does not let the QPV rule of the objectives see (int_attributions_qualifiees,
-- column statut_qpv; ref_qpv, the one list of priority quarters), one row per year × quarter ×
-- finding, with its text: read by the two quartile objectives (column raison → the exports' metadata,
-- « chiffres absents ») and by a dbt test of severity warn (the run's data-quality controls). Never
-- silently ignored:
-- - NON_PORTE: a quarter the law counts as QPV during a transition period of the year (ref_qpv.
--   assimile_qpv_jusqu_au) whose code no attribution of the year carries in QPV_LOGEMENT — its
--   dwellings cannot be recognised and are counted hors QPV;
-- - HORS_LISTE: attributions whose QPV_LOGEMENT is a quarter out of the list at the date of the CALEOL
--   (and not assimilated) — counted hors QPV;
-- - HORS_REFERENTIEL: a QPV_LOGEMENT code ref_qpv does not know — counted in QPV on the extract's word.
with

attributions as (
    select annee, code_qpv, statut_qpv from {{ ref('int_attributions_qualifiees') }}
),

quartiers as (
    select * from {{ ref('ref_qpv') }}
),

annees as (
    select distinct annee from attributions
),

-- the quarters the law assimilates to a QPV at some date of the year
assimiles as (
    select annees.annee, quartiers.code_qpv, quartiers.nom, quartiers.source
    from annees
    join quartiers
        on quartiers.assimile_qpv_jusqu_au >= make_date(annees.annee, 1, 1)
        and quartiers.date_debut <= make_date(annees.annee, 12, 31)
),

portes as (
    select annee, code_qpv, statut_qpv, count(*) as nb_attributions
    from attributions
    where code_qpv is not null
    group by annee, code_qpv, statut_qpv
),

non_portes as (
    select
        assimiles.annee,
        assimiles.code_qpv,
        'NON_PORTE'                                                                 as constat,
        0                                                                           as nb_attributions,
        assimiles.annee || ' : ' || assimiles.code_qpv || ' (' || assimiles.nom || ') compte comme QPV '
            || 'pour les objectifs de quartile (' || assimiles.source || '), mais aucune attribution de '
            || 'l''extrait ne porte ce code dans QPV_LOGEMENT : ses logements ne peuvent pas être reconnus '
            || 'et sont comptés hors QPV'                                           as raison
    from assimiles
    where not exists (
        select 1 from portes
        where portes.annee = assimiles.annee and portes.code_qpv = assimiles.code_qpv
    )
),

codes_ecartes as (
    select
        annee,
        code_qpv,
        case statut_qpv when 'HORS_LISTE' then 'HORS_LISTE' else 'HORS_REFERENTIEL' end as constat,
        nb_attributions,
        case statut_qpv
            when 'HORS_LISTE' then annee || ' : ' || nb_attributions || ' attribution(s) portent dans '
                || 'QPV_LOGEMENT le code ' || code_qpv || ', qui n''est pas un QPV à la date de la CALEOL '
                || 'ni assimilé (ref_qpv) : comptées hors QPV pour les objectifs de quartile'
            else annee || ' : ' || nb_attributions || ' attribution(s) portent dans QPV_LOGEMENT le code '
                || code_qpv || ', inconnu de ref_qpv : comptées en QPV sur la foi de l''extrait ; '
                || 'ajoutez le quartier au référentiel'
        end                                                                         as raison
    from portes
    where statut_qpv in ('HORS_LISTE', 'QPV_HORS_REFERENTIEL')
),

final as (
    select * from non_portes
    union all
    select * from codes_ecartes
)

select * from final
