{#
    One row per order that has at least one (deduplicated) line:
    item_count = sum(quantity), subtotal = sum(quantity * unit_price).
#}
with

order_items as (

    select * from {{ ref('int_order_items_joined_to_products') }}

),

aggregated_to_orders as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(case when is_food_item then quantity else 0 end) as food_item_count,
        sum(case when is_drink_item then quantity else 0 end) as drink_item_count,
        sum(line_total_cents) as subtotal_cents,
        sum(line_supply_cost_cents) as supply_cost_cents

    from order_items
    group by order_id

),

final as (

    select
        order_id,
        cast(line_count as integer) as line_count,
        cast(item_count as integer) as item_count,
        cast(food_item_count as integer) as food_item_count,
        cast(drink_item_count as integer) as drink_item_count,
        subtotal_cents,
        {{ cents_to_dollars('subtotal_cents') }} as subtotal_usd,
        {{ cents_to_dollars('supply_cost_cents') }} as supply_cost_usd

    from aggregated_to_orders

)

select * from final
