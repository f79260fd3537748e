from rest_framework.pagination import LimitOffsetPagination


class LimitOffsetPaginationCapped(LimitOffsetPagination):
    """`?limit=&offset=` pages of 100 by default; a larger `limit` is served as at most 10,000 rows, since
    the database refuses numbers beyond 64 bits and no client needs more rows in one response."""

    max_limit = 10_000
