with

source as (

    select * from {{ source('erp', 'orders') }}

),

renamed as (

    select
        cast(order_id as bigint) as order_id,
        cast(customer_id as bigint) as customer_id,
        cast(store_id as integer) as store_id,
        lower(trim(status)) as status,
        cast(ordered_at as timestamp) as ordered_at,
        cast({{ dbt.date_trunc('day', 'ordered_at') }} as date) as order_date,
        cast(updated_at as timestamp) as updated_at,
        _loaded_at as loaded_at

    from source

),

final as (

    select
        *,
        customer_id is null as is_guest_order

    from renamed

)

select * from final
