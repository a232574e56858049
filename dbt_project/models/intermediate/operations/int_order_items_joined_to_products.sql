{#
    One row per (deduplicated) order line with its product and unit supply cost.
    line_total = quantity * unit price charged on the line (not today's list price).
#}
with

order_items as (

    select * from {{ ref('stg_erp__order_items') }}

),

products as (

    select * from {{ ref('stg_erp__products') }}

),

product_supply_costs as (

    select * from {{ ref('int_supplies_aggregated_to_products') }}

),

joined_to_products as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        products.product_type,
        order_items.quantity,
        order_items.unit_price_cents,
        order_items.unit_price_usd,
        coalesce(products.is_food_item, false) as is_food_item,
        coalesce(products.is_drink_item, false) as is_drink_item,
        order_items.quantity * order_items.unit_price_cents as line_total_cents,
        coalesce(product_supply_costs.supply_cost_cents, 0) as unit_supply_cost_cents,
        order_items.quantity
        * coalesce(product_supply_costs.supply_cost_cents, 0) as line_supply_cost_cents

    from order_items
    left join products
        on order_items.product_id = products.product_id
    left join product_supply_costs
        on order_items.product_id = product_supply_costs.product_id

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        product_type,
        is_food_item,
        is_drink_item,
        quantity,
        unit_price_cents,
        unit_price_usd,
        line_total_cents,
        {{ cents_to_dollars('line_total_cents') }} as line_total_usd,
        {{ cents_to_dollars('unit_supply_cost_cents') }} as unit_supply_cost_usd,
        line_supply_cost_cents,
        {{ cents_to_dollars('line_supply_cost_cents') }} as line_supply_cost_usd

    from joined_to_products

)

select * from final
