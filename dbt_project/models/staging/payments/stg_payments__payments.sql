with

source as (

    select * from {{ source('payments', 'payments') }}

),

renamed as (

    select
        trim(payment_id) as payment_id,
        cast(order_id as bigint) as order_id,
        lower(trim(method)) as payment_method,
        lower(trim(kind)) as payment_kind,
        lower(trim(status)) as payment_status,
        -- signed: positive for charges, negative for refunds
        cast(amount_cents as bigint) as amount_cents,
        {{ cents_to_dollars('amount_cents') }} as amount_usd,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        _loaded_at as loaded_at

    from source

),

final as (

    select
        *,
        payment_status = 'succeeded' as is_successful,
        payment_kind = 'refund' as is_refund

    from renamed

)

select * from final
