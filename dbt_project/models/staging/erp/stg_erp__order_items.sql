with

source as (

    select * from {{ source('erp', 'order_items') }}

),

-- The ERP's daily exports overlap, so the append-loaded table holds the same line
-- once per file that contained it. Keep one row per order_item_id: the most
-- recently loaded one; within a batch, the one from the later file (_loaded_at grows by
-- a microsecond per file, in file-name order).
deduplicated as (

    select
        *,
        row_number() over (
            partition by order_item_id
            order by _loaded_at desc
        ) as row_num

    from source

),

renamed as (

    select
        cast(order_item_id as bigint) as order_item_id,
        cast(order_id as bigint) as order_id,
        upper(trim(product_id)) as product_id,
        cast(quantity as integer) as quantity,
        cast(unit_price_cents as bigint) as unit_price_cents,
        {{ cents_to_dollars('unit_price_cents') }} as unit_price_usd,
        _loaded_at as loaded_at

    from deduplicated
    where row_num = 1

),

final as (

    select * from renamed

)

select * from final
