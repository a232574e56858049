with

products as (

    select * from {{ ref('stg_erp__products') }}

),

product_supply_costs as (

    select * from {{ ref('int_supplies_aggregated_to_products') }}

),

joined as (

    select
        products.product_id,
        products.product_name,
        products.product_type,
        products.product_description,
        products.is_food_item,
        products.is_drink_item,
        products.price_usd,
        products.updated_at,
        coalesce(product_supply_costs.supply_cost_usd, 0) as supply_cost_usd,
        coalesce(product_supply_costs.supply_count, 0) as supply_count,
        coalesce(product_supply_costs.has_perishable_supply, false) as has_perishable_supply

    from products
    left join product_supply_costs
        on products.product_id = product_supply_costs.product_id

),

final as (

    select
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(product_name as {{ dbt.type_string() }}) as product_name,
        cast(product_type as {{ dbt.type_string() }}) as product_type,
        cast(product_description as {{ dbt.type_string() }}) as product_description,
        is_food_item,
        is_drink_item,
        cast(price_usd as numeric(18, 2)) as price_usd,
        cast(supply_cost_usd as numeric(18, 2)) as supply_cost_usd,
        cast(price_usd - supply_cost_usd as numeric(18, 2)) as unit_margin_usd,
        cast(supply_count as integer) as supply_count,
        has_perishable_supply,
        cast(updated_at as timestamp) as updated_at

    from joined

)

select * from final
