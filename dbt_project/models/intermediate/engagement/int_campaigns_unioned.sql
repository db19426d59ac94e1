{{ union_config('campaigns') }}
-- Every enabled mailing platform's campaigns (stg_<system>__campaigns).
{{ union_shape('campaigns') }}
