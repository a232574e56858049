{#
    One row per revenue_date x store_id that has at least one order.
      revenue_date      = order_date (UTC calendar day the order was placed)
      gross_revenue_usd = sum(fct_orders.subtotal_usd) of the day's orders, every
                          status: quantity * unit price over deduplicated lines, before tax
      refunds_usd       = sum(fct_orders.amount_refunded_usd) of the day's orders:
                          successful refunds (cash, tax included), attributed to the
                          refunded order's date, not the refund's
      net_revenue_usd   = gross_revenue_usd - refunds_usd

    Incremental (delete+insert on revenue_date, store_id). A run rebuilds every day
    that is either
      * within daily_revenue_lookback_days of the latest revenue_date already loaded, or
      * the order_date of an order whose order record or payments changed since the
        last run (later than the stored max_source_updated_at), e.g. an order returned
        and refunded a week after it was placed.
    Each rebuilt day is recomputed from all its orders, so rows stay exact.
#}
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

payments_pivoted as (

    select * from {{ ref('int_payments_pivoted_to_orders') }}

),

orders as (

    select
        fct_orders.order_date,
        fct_orders.store_id,
        fct_orders.subtotal_usd,
        fct_orders.amount_refunded_usd,
        -- latest change to the order or to any of its payments
        case
            when payments_pivoted.last_payment_updated_at > fct_orders.updated_at
                then payments_pivoted.last_payment_updated_at
            else fct_orders.updated_at
        end as source_updated_at

    from fct_orders
    left join payments_pivoted
        on fct_orders.order_id = payments_pivoted.order_id

),

{% if is_incremental() %}

    this_model as (

        select * from {{ this }}

    ),

    days_to_rebuild as (

        select distinct orders.order_date
        from orders
        where
            orders.source_updated_at > (
                select max(this_model.max_source_updated_at) from this_model
            )
            or orders.order_date >= (
                select
                    {{ dbt.dateadd(
                        'day',
                        -1 * var('daily_revenue_lookback_days'),
                        'max(this_model.revenue_date)'
                    ) }}
                from this_model
            )

    ),

    orders_to_aggregate as (

        select orders.*
        from orders
        inner join days_to_rebuild
            on orders.order_date = days_to_rebuild.order_date

    ),

{% else %}

    orders_to_aggregate as (

        select * from orders

    ),

{% endif %}

aggregated_to_days as (

    select
        order_date as revenue_date,
        store_id,
        count(*) as order_count,
        sum(subtotal_usd) as gross_revenue_usd,
        sum(amount_refunded_usd) as refunds_usd,
        max(source_updated_at) as max_source_updated_at

    from orders_to_aggregate
    group by order_date, store_id

),

final as (

    select
        cast(revenue_date as date) as revenue_date,
        cast(store_id as integer) as store_id,
        cast(order_count as integer) as order_count,
        cast(gross_revenue_usd as numeric(18, 2)) as gross_revenue_usd,
        cast(refunds_usd as numeric(18, 2)) as refunds_usd,
        cast(gross_revenue_usd - refunds_usd as numeric(18, 2)) as net_revenue_usd,
        cast(max_source_updated_at as timestamp) as max_source_updated_at

    from aggregated_to_days

)

select * from final
