{#
    The published scores: one row per customer signed up before the scoring cutoff, with
    the probability that it orders again within ml_label_days. Built from the candidate
    scores only after the validation gate on fct_reorder_model_runs passed.
#}
with

candidates as (

    select * from {{ ref('fct_customer_score_candidates') }}

),

final as (

    select
        cast(customer_id as bigint) as customer_id,
        cast(as_of_date as date) as as_of_date,
        cast(reorder_probability as double precision) as reorder_probability,
        cast(model_hash as {{ dbt.type_string() }}) as model_hash

    from candidates

)

select * from final
