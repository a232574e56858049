with

source as (

    select * from {{ source('events', 'events') }}

),

-- Event lines can be delivered twice. Keep one row per event_id: the most
-- recently loaded one; within a batch, the one from the later file (_loaded_at grows by
-- a microsecond per file, in file-name order).
deduplicated as (

    select
        *,
        row_number() over (
            partition by event_id
            order by _loaded_at desc
        ) as row_num

    from source

),

renamed as (

    select
        trim(event_id) as event_id,
        lower(trim(event_type)) as event_type,
        cast(occurred_at as timestamp) as occurred_at,
        cast({{ dbt.date_trunc('day', 'occurred_at') }} as date) as event_date,
        cast(customer_id as bigint) as customer_id,
        trim(session_id) as session_id,
        {{ json_extract_text('payload', 'page') }} as page,
        upper({{ json_extract_text('payload', 'product_id') }}) as product_id,
        {{ dbt.safe_cast(json_extract_text('payload', 'order_id'), 'bigint') }} as order_id,
        lower({{ json_extract_text('payload', 'device.os') }}) as device_os,
        lower({{ json_extract_text('payload', 'device.browser') }}) as device_browser,
        _loaded_at as loaded_at

    from deduplicated
    where row_num = 1

),

final as (

    select * from renamed

)

select * from final
