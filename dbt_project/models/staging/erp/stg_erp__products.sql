with

source as (

    select * from {{ source('erp', 'products') }}

),

renamed as (

    select
        upper(trim(product_id)) as product_id,
        trim(product_name) as product_name,
        lower(trim(product_type)) as product_type,
        nullif(trim(description), '') as product_description,
        cast(price_cents as bigint) as price_cents,
        {{ cents_to_dollars('price_cents') }} as price_usd,
        cast(updated_at as timestamp) as updated_at,
        _loaded_at as loaded_at

    from source

),

final as (

    select
        *,
        product_type = 'jaffle' as is_food_item,
        product_type = 'beverage' as is_drink_item

    from renamed

)

select * from final
