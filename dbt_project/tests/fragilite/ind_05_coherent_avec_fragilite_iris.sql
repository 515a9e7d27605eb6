-- ind_05 (maille IRIS) and fragilite_iris count the same dwellings: for every year and class, the
-- dwellings of ind_05 (qpv TOTAL and QPV) equal the sum of nb_logements (nb_logements_qpv) of the
-- IRIS of that class in fragilite_iris. Returns the disagreeing cells.
{{ config(tags=['fragilite']) }}

with

ind_05 as (
    select annee, classe_fragilite, qpv, numerateur
    from {{ ref('ind_05') }}
    where maille = 'IRIS' and classe_fragilite not in ('TOTAL', 'non renseigné', 'effectif insuffisant')
      and qpv <> 'HORS_QPV'
),

par_classe as (
    select
        annee,
        classe                                                             as classe_fragilite,
        sum(nb_logements)                                                  as logements,
        sum(nb_logements_qpv)                                              as logements_qpv
    from {{ ref('fragilite_iris') }}
    where classe is not null
    group by annee, classe
)

select ind_05.*, par_classe.logements, par_classe.logements_qpv
from ind_05
left join par_classe
    on par_classe.annee = ind_05.annee
    and par_classe.classe_fragilite = ind_05.classe_fragilite
where ind_05.numerateur <> coalesce(case when ind_05.qpv = 'TOTAL' then par_classe.logements
                                         else par_classe.logements_qpv end, 0)
