-- fct_daily_revenue (incremental) must agree with a full recomputation from
-- fct_orders for every day and store, and have no day/store missing or extra.
with

fct_daily_revenue as (

    select * from {{ ref('fct_daily_revenue') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

recomputed as (

    select
        order_date as revenue_date,
        store_id,
        count(*) as order_count,
        sum(subtotal_usd) as gross_revenue_usd,
        sum(amount_refunded_usd) as refunds_usd

    from fct_orders
    group by order_date, store_id

),

compared as (

    select
        recomputed.order_count as expected_order_count,
        fct_daily_revenue.order_count as actual_order_count,
        recomputed.gross_revenue_usd as expected_gross_revenue_usd,
        fct_daily_revenue.gross_revenue_usd as actual_gross_revenue_usd,
        recomputed.refunds_usd as expected_refunds_usd,
        fct_daily_revenue.refunds_usd as actual_refunds_usd,
        coalesce(recomputed.revenue_date, fct_daily_revenue.revenue_date) as revenue_date,
        coalesce(recomputed.store_id, fct_daily_revenue.store_id) as store_id

    from recomputed
    full outer join fct_daily_revenue
        on
            recomputed.revenue_date = fct_daily_revenue.revenue_date
            and recomputed.store_id = fct_daily_revenue.store_id

),

final as (

    select * from compared
    where
        expected_order_count is null
        or actual_order_count is null
        or expected_order_count != actual_order_count
        or expected_gross_revenue_usd != actual_gross_revenue_usd
        or expected_refunds_usd != actual_refunds_usd

)

select * from final
