{#
    One row per deduplicated order line, with the order's context.
    line_total = quantity * unit price charged on the line.
#}
with

order_items as (

    select * from {{ ref('int_order_items_joined_to_products') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

joined as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        orders.customer_id,
        orders.store_id,
        orders.ordered_at,
        orders.order_date,
        order_items.is_food_item,
        order_items.is_drink_item,
        order_items.quantity,
        order_items.unit_price_usd,
        order_items.line_total_usd,
        order_items.unit_supply_cost_usd,
        order_items.line_supply_cost_usd

    from order_items
    inner join orders
        on order_items.order_id = orders.order_id

),

final as (

    select
        cast(order_item_id as bigint) as order_item_id,
        cast(order_id as bigint) as order_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        cast(customer_id as bigint) as customer_id,
        cast(store_id as integer) as store_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(order_date as date) as order_date,
        is_food_item,
        is_drink_item,
        cast(quantity as integer) as quantity,
        cast(unit_price_usd as numeric(18, 2)) as unit_price_usd,
        cast(line_total_usd as numeric(18, 2)) as line_total_usd,
        cast(unit_supply_cost_usd as numeric(18, 2)) as unit_supply_cost_usd,
        cast(line_supply_cost_usd as numeric(18, 2)) as line_supply_cost_usd,
        cast(line_total_usd - line_supply_cost_usd as numeric(18, 2)) as line_margin_usd

    from joined

)

select * from final
