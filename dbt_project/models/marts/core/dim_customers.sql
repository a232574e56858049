{#
    One row per customer (masked: no raw PII), with order metrics.
      order_count        = orders placed (any status)
      lifetime_value_usd = sum of net_paid_usd (successful charges - successful refunds)
      customer_type      = 'returning' when order_count > 1, else 'new'
#}
with

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

orders_aggregated_to_customers as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as order_count,
        sum(net_paid_usd) as lifetime_value_usd

    from orders
    where customer_id is not null
    group by customer_id

),

joined as (

    select
        customers.customer_id,
        customers.customer_initials,
        customers.email_hash,
        customers.email_domain,
        customers.has_email,
        customers.has_phone,
        customers.city,
        customers.signed_up_at,
        orders_aggregated_to_customers.first_order_at,
        orders_aggregated_to_customers.last_order_at,
        coalesce(orders_aggregated_to_customers.order_count, 0) as order_count,
        coalesce(orders_aggregated_to_customers.lifetime_value_usd, 0) as lifetime_value_usd

    from customers
    left join orders_aggregated_to_customers
        on customers.customer_id = orders_aggregated_to_customers.customer_id

),

final as (

    select
        cast(customer_id as bigint) as customer_id,
        cast(customer_initials as {{ dbt.type_string() }}) as customer_initials,
        cast(email_hash as {{ dbt.type_string() }}) as email_hash,
        cast(email_domain as {{ dbt.type_string() }}) as email_domain,
        has_email,
        has_phone,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(signed_up_at as timestamp) as signed_up_at,
        cast(first_order_at as timestamp) as first_order_at,
        cast(last_order_at as timestamp) as last_order_at,
        cast(order_count as integer) as order_count,
        cast(lifetime_value_usd as numeric(18, 2)) as lifetime_value_usd,
        cast(
            case when order_count > 1 then 'returning' else 'new' end
            as {{ dbt.type_string() }}
        ) as customer_type

    from joined

)

select * from final
