{#
    One row per order.
      subtotal        = sum(quantity * unit_price) over the order's deduplicated lines
      tax             = round(subtotal * store tax_rate, 2)
      order_total     = subtotal + tax
      amount_paid     = successful charges; amount_refunded = successful refunds (positive)
#}
with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

stores as (

    select * from {{ ref('stg_erp__stores') }}

),

order_items_aggregated as (

    select * from {{ ref('int_order_items_aggregated_to_orders') }}

),

payments_pivoted as (

    select * from {{ ref('int_payments_pivoted_to_orders') }}

),

joined as (

    select
        orders.order_id,
        orders.customer_id,
        orders.store_id,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.is_guest_order,
        orders.updated_at,
        stores.tax_rate,
        coalesce(order_items_aggregated.item_count, 0) as item_count,
        coalesce(order_items_aggregated.food_item_count, 0) as food_item_count,
        coalesce(order_items_aggregated.drink_item_count, 0) as drink_item_count,
        coalesce(order_items_aggregated.subtotal_usd, 0) as subtotal_usd,
        coalesce(order_items_aggregated.supply_cost_usd, 0) as supply_cost_usd,
        coalesce(payments_pivoted.amount_paid_usd, 0) as amount_paid_usd,
        coalesce(payments_pivoted.amount_refunded_usd, 0) as amount_refunded_usd,
        coalesce(payments_pivoted.net_paid_usd, 0) as net_paid_usd,
        coalesce(payments_pivoted.charge_count, 0) as payment_count

    from orders
    left join stores
        on orders.store_id = stores.store_id
    left join order_items_aggregated
        on orders.order_id = order_items_aggregated.order_id
    left join payments_pivoted
        on orders.order_id = payments_pivoted.order_id

),

with_totals as (

    select
        *,
        round(subtotal_usd * tax_rate, 2) as tax_usd

    from joined

),

final as (

    select
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        cast(store_id as integer) as store_id,
        cast(ordered_at as timestamp) as ordered_at,
        cast(order_date as date) as order_date,
        cast(status as {{ dbt.type_string() }}) as status,
        status = 'returned' as is_returned,
        is_guest_order,
        cast(
            case
                when customer_id is not null
                    then row_number() over (
                        partition by customer_id
                        order by ordered_at, order_id
                    )
            end
            as integer
        ) as customer_order_number,
        cast(item_count as integer) as item_count,
        cast(food_item_count as integer) as food_item_count,
        cast(drink_item_count as integer) as drink_item_count,
        cast(subtotal_usd as numeric(18, 2)) as subtotal_usd,
        cast(tax_rate as numeric(6, 4)) as tax_rate,
        cast(tax_usd as numeric(18, 2)) as tax_usd,
        cast(subtotal_usd + tax_usd as numeric(18, 2)) as order_total_usd,
        cast(supply_cost_usd as numeric(18, 2)) as supply_cost_usd,
        cast(amount_paid_usd as numeric(18, 2)) as amount_paid_usd,
        cast(amount_refunded_usd as numeric(18, 2)) as amount_refunded_usd,
        cast(net_paid_usd as numeric(18, 2)) as net_paid_usd,
        cast(payment_count as integer) as payment_count,
        amount_paid_usd >= subtotal_usd + tax_usd as is_fully_paid,
        cast(updated_at as timestamp) as updated_at

    from with_totals

)

select * from final
