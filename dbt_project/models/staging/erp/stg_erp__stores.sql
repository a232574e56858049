with

source as (

    select * from {{ source('erp', 'stores') }}

),

renamed as (

    select
        _loaded_at as loaded_at,
        cast(store_id as integer) as store_id,
        cast(opened_at as date) as opened_date,
        cast(tax_rate as numeric(6, 4)) as tax_rate,
        trim(store_name) as store_name,
        trim(city) as city

    from source

),

final as (

    select * from renamed

)

select * from final
