{#
    One row per product that has supplies: what it costs to make one unit, from
    the current supplies snapshot (the ERP replaces it on every export).
#}
with

supplies as (

    select * from {{ ref('stg_erp__supplies') }}

),

aggregated_to_products as (

    select
        product_id,
        sum(supply_cost_cents) as supply_cost_cents,
        count(*) as supply_count,
        sum(case when is_perishable_supply then 1 else 0 end) as perishable_supply_count

    from supplies
    group by product_id

),

final as (

    select
        product_id,
        supply_cost_cents,
        {{ cents_to_dollars('supply_cost_cents') }} as supply_cost_usd,
        cast(supply_count as integer) as supply_count,
        perishable_supply_count > 0 as has_perishable_supply

    from aggregated_to_products

)

select * from final
