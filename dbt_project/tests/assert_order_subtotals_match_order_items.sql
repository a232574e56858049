-- Every order's subtotal equals the sum of its lines in fct_order_items, and its
-- item_count the sum of their quantities (orders without lines: 0).
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

fct_order_items as (

    select * from {{ ref('fct_order_items') }}

),

items_per_order as (

    select
        order_id,
        sum(line_total_usd) as line_total_usd,
        sum(quantity) as quantity

    from fct_order_items
    group by order_id

),

final as (

    select
        fct_orders.order_id,
        fct_orders.subtotal_usd,
        items_per_order.line_total_usd,
        fct_orders.item_count,
        items_per_order.quantity

    from fct_orders
    left join items_per_order
        on fct_orders.order_id = items_per_order.order_id
    where
        fct_orders.subtotal_usd != coalesce(items_per_order.line_total_usd, 0)
        or fct_orders.item_count != coalesce(items_per_order.quantity, 0)

)

select * from final
