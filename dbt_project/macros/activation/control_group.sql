{#
  Whether a segment member is held back as the segment's control group: never synced, compared
  with the treated members to measure lift. Stable across runs and rebuilds (a hash of segment and
  customer id, not a random draw), so the same person stays in control; independent between
  segments. `share` is the segment's meta.audience.control_share, else the business setting
  activation.control_share (var activation_control_share, default 0.1).
#}
{% macro in_control_group(customer_id, segment, share=none) -%}
  {%- set share = share if share is not none else var('activation_control_share', 0.1) -%}
  (('0x' || substr(md5('{{ segment }}' || ':' || {{ customer_id }}), 1, 8))::ubigint % 10000
     < {{ (share * 10000) | int }})
{%- endmacro %}
