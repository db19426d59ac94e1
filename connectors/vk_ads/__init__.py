"""VK Ads (ads.vk.com): remarketing users lists of MD5 sums as an activation destination.
`client.py` speaks the API (tokens, limits, lists); `destination.py` is the sync engine's client."""
