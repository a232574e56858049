{#
    One row per customer and cutoff date: what was known about the customer just before
    the cutoff (features over the ml_feature_days before it) and whether it ordered again
    within ml_label_days from the cutoff (the label). Cutoffs step back ml_label_days at a
    time from the as-of date (the day after the last order, or var ml_as_of_date):
      snapshot 0 = the as-of date          -> role 'score' (label unknown, NULL)
      snapshot 1 = as-of - label days      -> role 'holdout' (the time-based validation set)
      snapshot 2.. ml_snapshots            -> role 'train'
    Only customers signed up before a cutoff appear at that cutoff. Refunds count only
    when refunded before the cutoff, so no feature sees the future.
#}
{%- set label_days = var('ml_label_days', 7) | int %}
{%- set feature_days = var('ml_feature_days', 14) | int %}
{%- set snapshots = var('ml_snapshots', 3) | int %}
{#- The day after the last order, or var ml_as_of_date. One expression, so the SQL an
    engine's dateadd renders (Spark's spans lines) sits on one model line. #}
{%- if var('ml_as_of_date', none) %}
    {%- set as_of_expression = "'" ~ var('ml_as_of_date') ~ "'" %}
{%- else %}
    {%- set as_of_expression = dbt.dateadd('day', 1, 'max(order_date)') %}
{%- endif %}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

events as (

    select * from {{ ref('stg_events__events') }}

),

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

online_orders as (

    select distinct order_id
    from events
    where event_type = 'purchase' and order_id is not null

),

as_of as (

    select cast({{ as_of_expression }} as date) as as_of_date
    from orders

),

cutoffs as (

    {%- for k in range(snapshots + 1) %}
        select
            {{ k }} as snapshot_index,
            cast({{ dbt.dateadd('day', -k * label_days, 'as_of_date') }} as date) as cutoff_date
        from as_of
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

customer_cutoffs as (

    select
        customers.customer_id,
        customers.signed_up_at,
        cutoffs.snapshot_index,
        cutoffs.cutoff_date,
        cast(cutoffs.cutoff_date as timestamp) as cutoff_at,
        cast({{ dbt.dateadd('day', -feature_days, 'cutoffs.cutoff_date') }} as timestamp)
            as window_start_at,
        cast({{ dbt.dateadd('day', label_days, 'cutoffs.cutoff_date') }} as timestamp)
            as label_end_at

    from customers
    cross join cutoffs
    where customers.signed_up_at < cast(cutoffs.cutoff_date as timestamp)

),

order_features as (

    select
        customer_cutoffs.customer_id,
        customer_cutoffs.cutoff_date,
        max(orders.ordered_at) as last_order_at,
        count(
            case when orders.ordered_at >= customer_cutoffs.window_start_at then 1 end
        ) as frequency_orders,
        coalesce(sum(
            case
                when orders.ordered_at >= customer_cutoffs.window_start_at
                    then orders.order_total_usd
            end
        ), 0) as monetary_usd,
        count(
            case
                when
                    orders.ordered_at >= customer_cutoffs.window_start_at
                    and online_orders.order_id is not null
                    then 1
            end
        ) as online_orders

    from customer_cutoffs
    left join orders
        on
            customer_cutoffs.customer_id = orders.customer_id
            and customer_cutoffs.cutoff_at > orders.ordered_at
    left join online_orders
        on orders.order_id = online_orders.order_id
    group by customer_cutoffs.customer_id, customer_cutoffs.cutoff_date

),

refund_features as (

    select
        customer_cutoffs.customer_id,
        customer_cutoffs.cutoff_date,
        count(distinct payments.order_id) as refund_count

    from customer_cutoffs
    inner join orders
        on customer_cutoffs.customer_id = orders.customer_id
    inner join payments
        on
            orders.order_id = payments.order_id
            and payments.is_refund
            and payments.is_successful
            and customer_cutoffs.window_start_at <= payments.created_at
            and customer_cutoffs.cutoff_at > payments.created_at
    group by customer_cutoffs.customer_id, customer_cutoffs.cutoff_date

),

event_features as (

    select
        customer_cutoffs.customer_id,
        customer_cutoffs.cutoff_date,
        count(*) as event_count,
        count(distinct events.session_id) as session_count,
        count(case when events.event_type = 'add_to_cart' then 1 end) as cart_add_count

    from customer_cutoffs
    inner join events
        on
            customer_cutoffs.customer_id = events.customer_id
            and customer_cutoffs.window_start_at <= events.occurred_at
            and customer_cutoffs.cutoff_at > events.occurred_at
    group by customer_cutoffs.customer_id, customer_cutoffs.cutoff_date

),

labels as (

    select
        customer_cutoffs.customer_id,
        customer_cutoffs.cutoff_date,
        count(*) as next_orders

    from customer_cutoffs
    inner join orders
        on
            customer_cutoffs.customer_id = orders.customer_id
            and customer_cutoffs.cutoff_at <= orders.ordered_at
            and customer_cutoffs.label_end_at > orders.ordered_at
    group by customer_cutoffs.customer_id, customer_cutoffs.cutoff_date

),

joined as (

    select
        customer_cutoffs.customer_id,
        customer_cutoffs.cutoff_date,
        customer_cutoffs.snapshot_index,
        {{ dbt.datediff(
            'coalesce(order_features.last_order_at, customer_cutoffs.signed_up_at)',
            'customer_cutoffs.cutoff_at',
            'day'
        ) }} as recency_days,
        order_features.frequency_orders,
        order_features.monetary_usd,
        coalesce(refund_features.refund_count, 0) as refund_count,
        case
            when order_features.frequency_orders > 0
                then 1.0 * order_features.online_orders / order_features.frequency_orders
            else 0
        end as online_order_share,
        coalesce(event_features.event_count, 0) as event_count,
        coalesce(event_features.session_count, 0) as session_count,
        coalesce(event_features.cart_add_count, 0) as cart_add_count,
        case
            when customer_cutoffs.snapshot_index > 0
                then coalesce(labels.next_orders, 0) > 0
        end as has_next_order

    from customer_cutoffs
    inner join order_features
        on
            customer_cutoffs.customer_id = order_features.customer_id
            and customer_cutoffs.cutoff_date = order_features.cutoff_date
    left join refund_features
        on
            customer_cutoffs.customer_id = refund_features.customer_id
            and customer_cutoffs.cutoff_date = refund_features.cutoff_date
    left join event_features
        on
            customer_cutoffs.customer_id = event_features.customer_id
            and customer_cutoffs.cutoff_date = event_features.cutoff_date
    left join labels
        on
            customer_cutoffs.customer_id = labels.customer_id
            and customer_cutoffs.cutoff_date = labels.cutoff_date

),

final as (

    select
        cast(customer_id as bigint) as customer_id,
        cast(cutoff_date as date) as cutoff_date,
        cast(
            case
                when snapshot_index = 0 then 'score'
                when snapshot_index = 1 then 'holdout'
                else 'train'
            end
            as {{ dbt.type_string() }}
        ) as snapshot_role,
        cast(recency_days as integer) as recency_days,
        cast(frequency_orders as integer) as frequency_orders,
        cast(monetary_usd as numeric(18, 2)) as monetary_usd,
        cast(refund_count as integer) as refund_count,
        cast(online_order_share as {{ type_double() }}) as online_order_share,
        cast(event_count as integer) as event_count,
        cast(session_count as integer) as session_count,
        cast(cart_add_count as integer) as cart_add_count,
        has_next_order

    from joined

)

select * from final
