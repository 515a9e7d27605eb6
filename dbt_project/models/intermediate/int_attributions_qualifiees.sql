-- The legal rules of the attribution objectives (indicators.md, section A), decided once for every
-- CALEOL examination: attribution prononcée, bail signé, refusal, quartile of the household, QPV,
-- flux base, priority, ANRU, mutation. The marts of the objectives only count these flags.
with

examens as (
    select * from {{ ref('stg_sne__attributions') }}
),

logements as (
    select * from {{ ref('stg_rpls__logements') }}
),

-- the thresholds a run may use: on real data, never a value marked demo (macros/menages.sql)
seuils as (
    {{ seuils_quartiles_utilisables() }}
),

quartiers as (
    select * from {{ ref('ref_qpv') }}
),

decisions as (
    select
        *,
        -- the year of an examination is the year of its CALEOL
        cast(year(date_cal) as integer)                                              as annee_cal,
        decision in ('ATTRIBUTION', 'ATTRIBUTION_RANG', 'ATTRIBUTION_CONDITION_SUSPENSIVE') as est_positive,
        -- SANS_REPONSE: the offer is deemed refused after the legal delay
        coalesce(reponse in ('REFUS', 'SANS_REPONSE'), false)                        as est_refus
    from examens
),

-- Attribution prononcée: a positive decision at rank 1, or at rank n when every better-ranked
-- positive candidate for the same dwelling and the same CALEOL refused. So: count, for each row,
-- the positive candidates ranked strictly better (same dwelling, same CALEOL date) who did not
-- refuse — who accepted or have not answered yet; none means the dwelling came down to this one.
-- Negative decisions (NON_ATTRIBUTION, IRRECEVABILITE) neither count nor block.
classement as (
    select
        *,
        coalesce(sum(case when est_positive and not est_refus then 1 else 0 end) over (
            partition by logement_id, date_cal
            order by rang
            range between unbounded preceding and 1 preceding
        ), 0)                                                                        as mieux_classes_non_refusants
    from decisions
),

qualifiees as (
    select
        classement.*,
        classement.est_positive and classement.mieux_classes_non_refusants = 0     as est_prononcee,
        {{ uc('classement.nb_personnes', 'classement.nb_enfants_moins_14') }}      as uc,
        {{ ressources_par_uc('classement.revenu_mensuel', 'classement.nb_personnes',
                             'classement.nb_enfants_moins_14') }}                  as ressources_par_uc,
        {{ quartile('classement.revenu_mensuel', 'classement.nb_personnes', 'classement.nb_enfants_moins_14',
                    'seuils.q1', 'seuils.q2', 'seuils.q3') }}                      as quartile,
        {{ sous_q1('classement.revenu_mensuel', 'classement.nb_personnes', 'classement.nb_enfants_moins_14',
                   'seuils.q1') }}                                                 as est_q1,
        -- why the year's 1st quartile cannot be decided (its Q1 absent, or marked demo on real data)
        case
            when seuils.annee is null then {{ raison_q1_absent('classement.annee_cal') }}
            else seuils.raison_q1
        end                                                                        as raison_quartile,
        logements.logement_id is not null                                          as logement_rpls_trouve,
        logements.code_qpv                                                         as qpv_rpls,
        logements.est_qpv                                                          as est_qpv_rpls,
        -- The quarter of QPV_LOGEMENT at the date of the CALEOL (ref_qpv, the one list): a QPV in
        -- force; a quarter the law still assimilates to a QPV after it left the list (transition
        -- periods, e.g. the renewal of the list by the decree 2023-1314, the text in ref_qpv.source);
        -- a quartier de veille active (not a QPV, reported apart); a code out of the list at that
        -- date; or a code the referential does not know (counted as QPV on the extract's word, and
        -- reported).
        case
            when classement.code_qpv is null then 'HORS_QPV'
            when quartiers.code_qpv is null then 'QPV_HORS_REFERENTIEL'
            when quartiers.nature = 'QPV' and classement.date_cal >= quartiers.date_debut
                and (quartiers.date_fin is null or classement.date_cal <= quartiers.date_fin) then 'QPV'
            when classement.date_cal >= quartiers.date_debut
                and classement.date_cal <= quartiers.assimile_qpv_jusqu_au then 'QPV_ASSIMILE'
            when quartiers.nature = 'QVA' and classement.date_cal >= quartiers.date_debut
                and (quartiers.date_fin is null or classement.date_cal <= quartiers.date_fin) then 'QVA'
            else 'HORS_LISTE'
        end                                                                        as statut_qpv
    from classement
    left join seuils
        on seuils.annee = classement.annee_cal
    -- the RPLS dwelling of the millésime of the year (situation on 1 January)
    left join logements
        on logements.annee = classement.annee_cal
        and logements.logement_id = classement.logement_id
    left join quartiers
        on quartiers.code_qpv = classement.code_qpv
),

final as (
    select
        annee_cal                                                                  as annee,
        cast(month(date_cal) as integer)                                           as mois,
        date_cal,
        num_unique,
        logement_id,
        bailleur,
        reservataire,
        code_insee,
        residence_id,
        typologie,
        decision,
        rang,
        reponse,
        est_positive,
        est_refus,
        est_prononcee,
        est_prononcee and date_bail is not null                                    as est_bail_signe,
        date_bail,
        case
            when reponse = 'SANS_REPONSE' then 'SANS_REPONSE'
            when reponse = 'REFUS' then motif_refus
        end                                                                        as motif_refus,
        nb_personnes,
        nb_enfants_moins_14,
        revenu_mensuel,
        uc,
        ressources_par_uc,
        quartile,
        est_q1,
        raison_quartile,
        -- the QPV is the extract's (QPV_LOGEMENT); RPLS only raises a warning when it disagrees
        code_qpv is not null                                                       as est_qpv,
        code_qpv,
        statut_qpv,
        -- QPV as the law counts it for the two quartile objectives (CCH L441-1): a QPV in force, a
        -- quarter it assimilates during a transition period, or a code unknown to the referential
        -- (the extract's word); not a QVA nor a quarter out of the list at the date of the CALEOL
        statut_qpv in ('QPV', 'QPV_ASSIMILE', 'QPV_HORS_REFERENTIEL')              as est_qpv_loi,
        statut_qpv = 'QVA'                                                         as est_qva,
        qpv_rpls,
        -- null when the dwelling is not in that year's RPLS; a layout that gives only the QPV flag
        -- (the regional files, ≤ 2020) is compared on in / out of QPV
        case
            when not logement_rpls_trouve then null
            when qpv_rpls is not null then code_qpv is distinct from qpv_rpls
            else (code_qpv is not null) is distinct from est_qpv_rpls
        end                                                                        as qpv_incoherent,
        -- flux base: the rows with HORS_FLUX = N (ANRU relogements, internal mutations and HLM sales
        -- are outside); an unknown HORS_FLUX is not N, so it is not counted in the flux base
        coalesce(hors_flux = false, false)                                         as dans_flux,
        coalesce(prioritaire, false) or coalesce(dalo, false)                      as est_prioritaire,
        coalesce(dalo, false)                                                      as est_dalo,
        motif_priorite,
        coalesce(relogement_anru, false)                                           as est_anru,
        -- an optional column: absent (null) = not such a relogement
        coalesce(relogement_copro_degradee, false)                                 as est_relogement_copro,
        -- CCH L441-1 (loi 2017-86 art. 70), CIA section 1.2: the households relogés by an urban
        -- renewal operation (ANRU) or an opération de requalification des copropriétés dégradées
        -- count in the 1st-quartile objective whatever their income
        coalesce(relogement_anru, false) or coalesce(relogement_copro_degradee, false) as est_relogement_hors_revenu,
        coalesce(mutation, false)                                                  as est_mutation,
        bailleur_origine,
        case
            when mutation is distinct from true then false
            when bailleur_origine is null then null
            else bailleur_origine <> bailleur
        end                                                                        as mutation_inter_bailleurs,
        sortant_hebergement,
        porteur_mixite,
        age_demandeur,
        composition,
        situation_pro,
        date_depot,
        fichier_extrait,
        ligne_extrait
    from qualifiees
)

select * from final
