"""Faker pools: values made once per run and drawn by index (lazy, seeded, shared by
every column), and the composers that build addresses, e-mails and user names from
pooled parts faster than Faker calls."""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from bisect import bisect
from collections.abc import Callable, Iterable, Sequence
from random import Random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker


from jobtui.engine.datagen.providers import (
    POOL_SIZE,
    call_provider,
    derive,
    faker_for,
    plain,
    usable_provider,
)

COMPOSED_POOL = 1 << 14
FILL_CHUNK = 16
TOKEN_POOL_SIZE = 1024
_DIGIT_CHARS = "#%$"
_DIGIT_MAP = {"%": "1123456789", "$": "2234566789"}  # 1 + d*9//10, 2 + d*8//10
_TOKEN = re.compile(r"{{\s*(\w+)\s*}}")
_TOKEN_ANY = re.compile(r"{{.*?}}")


# -- lazy pools --------------------------------------------------------------------------
class LazyPool:
    """`size` slots filled on first use; slot k depends only on (key, k).

    With `chunk` > 1, `make(c)` returns the values of slots c*chunk.. (c+1)*chunk-1 at once
    (one Faker seeding per chunk instead of per value)."""

    def __init__(self, size: int, make: Callable[[int], Any], chunk: int = 1):
        self.size = size
        self.values: list[Any] = [_EMPTY] * size
        self.make = make
        self.chunk = chunk
        self.filled = 0

    def fill(self, k: int) -> Any:
        if self.chunk == 1:
            value = self.make(k)
            self.values[k] = value
            self.filled += 1
            return value
        first = (k // self.chunk) * self.chunk
        values = self.make(k // self.chunk)[: self.size - first]
        for j, v in enumerate(values):
            if self.values[first + j] is _EMPTY:
                self.filled += 1
            self.values[first + j] = v
        return self.values[k]

    def fill_all(self) -> None:
        if self.filled == self.size:
            return
        if self.chunk == 1 and self.filled == 0:
            self.values = list(map(self.make, range(self.size)))
            self.filled = self.size
            return
        for k in range(self.size):
            self.get(k)

    def get(self, k: int) -> Any:
        value = self.values[k]
        if value is _EMPTY:
            value = self.fill(k)
        return value

    def draw(self, rng: Random, n: int) -> list[Any]:
        """n values drawn uniformly (the same randomness whether filled or not)."""
        values = self.values
        idx = uniform_indices(rng, n, self.size)
        if self.filled == self.size:
            return list(map(values.__getitem__, idx))
        out = []
        for k in idx:
            v = values[k]
            out.append(self.fill(k) if v is _EMPTY else v)
        return out


def _words(rng: Random, n: int, width: int) -> Sequence[int]:
    """n unsigned integers of `width` bytes (2 or 4) from the generator's stream. Always a
    whole number of 32-bit words is drawn, so the first m of n never depend on n."""
    nbytes = n * width
    raw = rng.randbytes((nbytes + 3) // 4 * 4)
    words = array("H" if width == 2 else "I")
    words.frombytes(raw[:nbytes])
    if sys.byteorder == "big":
        words.byteswap()
    return words


def uniform_indices(rng: Random, n: int, size: int, offset: int = 0) -> Sequence[int]:
    """n indices uniform in [0, size), plus `offset` (IntegerColumn's low): 16-bit draws
    for powers of two up to 65,536, else 32-bit draws scaled (bias below size / 2**32)."""
    if n <= 0:
        return []
    if offset and size < 2**32 and size & (size - 1):
        return [((w * size) >> 32) + offset for w in _words(rng, n, 4)]
    if offset:
        return [k + offset for k in uniform_indices(rng, n, size)]
    if size <= 65536 and size & (size - 1) == 0:
        if size == 65536:
            return _words(rng, n, 2)
        mask = size - 1
        return [w & mask for w in _words(rng, n, 2)]
    if size < 2**32:
        return [(w * size) >> 32 for w in _words(rng, n, 4)]
    return [rng.randrange(size) for _ in range(n)]


def draw_from(rng: Random, population: Sequence[Any], n: int) -> list[Any]:
    return list(map(population.__getitem__, uniform_indices(rng, n, len(population))))


def weighted_table(weights: Sequence[float], size: int = 65536) -> list[int]:
    """`size` slots shared out between the indices in proportion to their weights (largest
    remainder), so a uniform 16-bit draw picks index i with probability ~weights[i]/total."""
    total = float(sum(weights))
    quotas = [w / total * size for w in weights]
    counts = [int(q) for q in quotas]
    rest = size - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: quotas[i] - counts[i], reverse=True)
    for i in order[:rest]:
        counts[i] += 1
    table: list[int] = []
    for i, c in enumerate(counts):
        table.extend([i] * c)
    return table


class _Empty:
    pass


_EMPTY: Any = _Empty()


class Pools:
    """The lazy pools of one generator (one seed), shared by its fields."""

    def __init__(self, seed: int):
        self.seed = seed
        self._pools: dict[tuple[Any, ...], LazyPool] = {}
        self._loaded: dict[tuple[Any, ...], list[Any]] = {}

    # -- sharing filled pools with worker processes --------------------------------------
    def register(self, key: tuple[Any, ...], pool: LazyPool) -> LazyPool:
        """Track a pool made elsewhere (a composer's); fill it from a loaded state. A key
        already tracked gives the pool tracked: its values are the same (the key and the
        seed decide them), so two columns of one provider fill one pool, not two."""
        existing = self._pools.get(key)
        if existing is not None and existing is not pool and existing.size == pool.size:
            return existing
        values = self._loaded.get(key)
        if values is not None and len(values) == pool.size and pool.filled < pool.size:
            pool.values = list(values)
            pool.filled = pool.size
        self._pools[key] = pool
        return pool

    def fill_all(self) -> None:
        """Fill every slot of every pool (what a long run ends up doing anyway)."""
        done: set[int] = set()
        while True:
            todo = [p for p in self._pools.values() if id(p) not in done]
            if not todo:
                return
            for pool in todo:
                done.add(id(pool))
                pool.fill_all()

    def fill(self, keys: Iterable[tuple[Any, ...]], stop: Callable[[], bool] | None = None) -> None:
        """Fill every slot of the pools `keys` (those this generator has), one pool after
        the other until `stop()` says to stop."""
        for key in keys:
            if stop is not None and stop():
                return
            pool = self._pools.get(key)
            if pool is not None:
                pool.fill_all()

    def split(self, shares: int) -> list[list[tuple[Any, ...]]]:
        """The pools' keys in `shares` lists of about equal filling work (slots), biggest
        pools first: the same lists in every process that compiled the same datasets."""
        out: list[list[tuple[Any, ...]]] = [[] for _ in range(max(1, shares))]
        slots = [0] * len(out)
        for key, pool in sorted(self._pools.items(), key=lambda item: -item[1].size):
            least = slots.index(min(slots))
            out[least].append(key)
            slots[least] += pool.size
        return out

    def export(
        self, keys: Iterable[tuple[Any, ...]] | None = None
    ) -> dict[tuple[Any, ...], list[Any]]:
        """The values of the filled pools (of `keys` only, when given). Pool values depend
        only on the seed, so a worker given them makes exactly what it would have made
        filling its own."""
        wanted = None if keys is None else set(keys)
        return {
            k: p.values
            for k, p in self._pools.items()
            if p.filled == p.size and (wanted is None or k in wanted)
        }

    def load(self, state: dict[tuple[Any, ...], list[Any]]) -> None:
        self._loaded.update(state)
        for key, pool in self._pools.items():
            self.register(key, pool)

    def provider(
        self, locale: str, provider: str, args: dict[str, Any] | None = None, size: int = POOL_SIZE
    ) -> LazyPool:
        args = args or {}
        locale, provider = usable_provider(locale, provider)
        key = (locale, provider, repr(sorted(args.items())), size)
        pool = self._pools.get(key)
        if pool is None:
            base = derive(self.seed, *key)
            pool = None if args else self._fast_pool(locale, provider, size, base)
            if pool is None:

                def make(c: int) -> list[Any]:
                    fake = faker_for(locale)
                    fake.seed_instance(base + c)
                    method = getattr(fake, provider)
                    return [plain(method(**args)) for _ in range(FILL_CHUNK)]

                pool = LazyPool(size, make, FILL_CHUNK)
            self.register(key, pool)
        return pool

    def _fast_pool(self, locale: str, provider: str, size: int, base: int) -> LazyPool | None:
        """Pools Faker would fill slowly, filled the way Faker draws them but in one go.

        Faker's weighted draws rebuild a cumulative distribution per call (~60 µs a name);
        a name list is sampled here with the same weights in one `choices` call. Composed
        tokens (a street address inside an address) come from a Composer, and domain names
        are made like Faker's (first word of a company, ASCII, lower case + a TLD)."""
        weighted = _weighted_list(locale, provider)
        if weighted is not None:
            names, weights = weighted
            pool = LazyPool(size, lambda k: None)
            pool.values = Random(base).choices(names, weights=weights, k=size)
            pool.filled = size
            return pool
        if provider in COMPOSED:
            composer = Composer.build(self, locale, provider, size=size)
            return composer.pool if composer is not None else None
        if provider == "domain_name":
            company = self.provider(locale, "company", None, TOKEN_POOL_SIZE)
            tld = self.provider(locale, "tld", None, 64)

            def domain(k: int) -> str:
                h = mix(base ^ k)
                word = str(company.get(h % company.size)).split(" ")[0]
                word = re.sub(r"[^a-z0-9-]", "", ascii_fold_keep(word)) or "example"
                return f"{word}.{tld.get((h >> 20) % tld.size)}"

            return LazyPool(size, domain)
        return None

    def distinct(self, locale: str, provider: str, args: dict[str, Any]) -> list[Any]:
        """Up to POOL_SIZE distinct values (for unique fields), in a seeded order."""
        locale, provider = usable_provider(locale, provider)
        key = ("distinct", locale, provider, repr(sorted(args.items())))
        pool = self._pools.get(key)
        if pool is None:
            base = derive(self.seed, *key)
            seen: dict[str, Any] = {}
            tries = 0
            while len(seen) < POOL_SIZE and tries < POOL_SIZE * 3:
                value = call_provider(locale, provider, args, base + tries)
                seen.setdefault(repr(value), value)
                tries += 1
                if tries >= 200 and len(seen) < tries // 20:
                    break  # a small domain (country codes...): stop early
            values = list(seen.values())
            pool = LazyPool(len(values), lambda k: None)
            pool.values = values
            pool.filled = len(values)
            self._pools[key] = pool
        return pool.values


NAME_LISTS = {
    "first_name": ("first_names",),
    "first_name_male": ("first_names_male",),
    "first_name_female": ("first_names_female",),
    "first_name_nonbinary": ("first_names_nonbinary",),
    "last_name": ("last_names",),
    "last_name_male": ("last_names_male",),
    "last_name_female": ("last_names_female",),
}


def _weighted_list(locale: str, provider: str) -> tuple[list[Any], list[float] | None] | None:
    """(values, weights) when Faker's `provider` is a plain draw from a list of names."""
    attrs = NAME_LISTS.get(provider)
    if attrs is None:
        return None
    fake = faker_for(locale)
    obj, base = _provider_object(fake, "person")
    if obj is None or getattr(type(obj), provider, None) is not getattr(base, provider, None):
        return None
    data = getattr(obj, attrs[0], None)
    if not data:
        return None
    if isinstance(data, dict):
        return list(data), [float(w) for w in data.values()]
    if isinstance(data, list | tuple):
        return list(data), None
    return None


def ascii_fold_keep(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


# -- composed providers ------------------------------------------------------------------
def _provider_object(fake: Faker, module: str) -> Any:
    import importlib

    base = importlib.import_module(f"faker.providers.{module}").Provider
    for provider in fake.providers:
        if isinstance(provider, base):
            return provider, base
    return None, base


COMPOSED = {
    # provider: (faker module, attribute with the formats, numerify)
    "name": ("person", "formats", False),
    "address": ("address", "address_formats", False),
    "street_address": ("address", "street_address_formats", False),
    "street_name": ("address", "street_name_formats", False),
    "city": ("address", "city_formats", False),
    "company": ("company", "formats", False),
    "phone_number": ("phone_number", "formats", True),
}


MASK64 = (1 << 64) - 1


def mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


class Composer:
    """Values built like Faker builds them: a weighted format with `{{token}}`s drawn from
    lazy token pools (and `#`/`%`/`$` digits). Composed values go into a big lazy pool
    (`COMPOSED_POOL` slots, slot k made from a hash of (seed, k)), so drawing costs what a
    plain pool does while a column holds up to 16,384 distinct composed values."""

    def __init__(
        self,
        pools: Pools,
        locale: str,
        key: str,
        formats: list[str],
        weights: list[float] | None,
        numerify: bool,
        size: int = 0,
    ):
        self.formats = formats
        self.cum: list[float] = []
        total = 0.0
        for w in weights or [1.0] * len(formats):
            total += w
            self.cum.append(total)
        self.total = total
        self.compiled: list[tuple[str, list[LazyPool], str]] = []
        for fmt in formats:
            tokens = _TOKEN.findall(fmt)
            template = _TOKEN.sub("\x00", fmt).replace("{", "{{").replace("}", "}}")
            digit_kinds = ""
            if numerify:
                chars = []
                for ch in template:
                    if ch in _DIGIT_CHARS:
                        digit_kinds += ch
                        chars.append("\x01")
                    else:
                        chars.append(ch)
                template = "".join(chars)
            template = template.replace("\x00", "{}").replace("\x01", "{}")
            token_pools = [pools.provider(locale, t, None, TOKEN_POOL_SIZE) for t in tokens]
            self.compiled.append((template, token_pools, digit_kinds))
        size = size or COMPOSED_POOL
        self.base = derive(pools.seed, locale, "composed", key, size)
        self.pool = pools.register(("composed", locale, key, size), LazyPool(size, self.compose))

    def compose(self, k: int) -> str:
        h = mix(self.base ^ k)
        fi = min(bisect(self.cum, (h & 0xFFFFFFFF) / 4294967296.0 * self.total), len(self.cum) - 1)
        template, token_pools, digits = self.compiled[fi]
        h = mix(h)
        parts: list[Any] = []
        for j, pool in enumerate(token_pools):
            if j and j % 6 == 0:
                h = mix(h)
            i = ((h >> (10 * (j % 6))) & 0x3FF) % pool.size
            value = pool.values[i]
            parts.append(pool.fill(i) if value is _EMPTY else value)
        if digits:
            # Digit j of a group is (h // 10**j) % 10: the decimal string of h read from
            # the right, 18 digits per hash (then '%' maps 0-9 to 1-9, '$' to 2-9).
            for group in range(0, len(digits), 18):
                h = mix(h)
                kinds = digits[group : group + 18]
                reversed_digits = str(h).zfill(20)[::-1]
                if kinds.count("#") == len(kinds):
                    parts.extend(reversed_digits[: len(kinds)])
                else:
                    parts.extend(
                        _DIGIT_MAP[ch][ord(reversed_digits[j]) - 48]
                        if ch != "#"
                        else reversed_digits[j]
                        for j, ch in enumerate(kinds)
                    )
        return template.format(*parts) if parts else template

    @classmethod
    def build(cls, pools: Pools, locale: str, provider: str, size: int = 0) -> Composer | None:
        spec = COMPOSED.get(provider)
        if spec is None:
            return None
        module, attribute, numerify = spec
        fake = faker_for(locale)
        obj, base = _provider_object(fake, module)
        if obj is None:
            return None
        if getattr(type(obj), provider, None) is not getattr(base, provider, None):
            return None  # the locale builds it its own way: use a pool
        raw = getattr(obj, attribute, None)
        if not raw:
            return None
        if isinstance(raw, dict):
            formats = [str(f) for f in raw]
            weights: list[float] | None = [float(w) for w in raw.values()]
        else:
            formats = [str(f) for f in raw]
            weights = None
        for fmt in formats:
            if _TOKEN_ANY.sub("", fmt) != _TOKEN.sub("", fmt):
                return None  # tokens with arguments: leave it to Faker
            if numerify and ("!" in fmt or "@" in fmt or "{{" in fmt):
                return None
            for token in _TOKEN.findall(fmt):
                if not hasattr(fake, token):
                    return None
        return cls(pools, locale, provider, formats, weights, numerify, size)

    def draw(self, rng: Random, n: int) -> list[str]:
        return self.pool.draw(rng, n)


def ascii_fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


EMAIL_STYLES = (
    ("{f}.{l}", 30),
    ("{f}{l}", 12),
    ("{i}{l}", 12),
    ("{f}_{l}", 6),
    ("{l}.{f}", 6),
    ("{f}{l}{nn}", 12),
    ("{f}{nn}", 10),
    ("{l}{nn}", 6),
    ("{f}.{i2}.{l}", 6),
)
USERNAME_STYLES = (
    ("{f}.{l}", 15),
    ("{f}{l}", 15),
    ("{i}{l}", 20),
    ("{f}_{l}", 10),
    ("{f}{nn}", 20),
    ("{l}{nn}", 10),
    ("{f}{l}{nn}", 10),
)
SAFE_DOMAINS = ("example.com", "example.org", "example.net")
EMAIL_PROVIDERS = {"email", "free_email", "safe_email", "company_email", "ascii_email"}
USERNAME_PROVIDERS = {"user_name"}


class EmailComposer:
    """Emails and user names from the locale's first/last-name pools (ASCII-folded) and
    domain pools, composed into a big lazy pool. `unique` appends the record number to a
    local part that has no digits, so (base, number) is never ambiguous and values stay
    unique across blocks and processes."""

    def __init__(self, pools: Pools, locale: str, provider: str, unique: bool):
        self.provider = provider
        self.unique = unique
        self.first = pools.provider(locale, "first_name", None, TOKEN_POOL_SIZE)
        self.last = pools.provider(locale, "last_name", None, TOKEN_POOL_SIZE)
        # Names in non-Latin scripts fold to nothing: their emails use en_US names.
        self.first_latin = pools.provider("en_US", "first_name", None, TOKEN_POOL_SIZE)
        self.last_latin = pools.provider("en_US", "last_name", None, TOKEN_POOL_SIZE)
        styles: tuple[tuple[str, int], ...] = (
            USERNAME_STYLES if provider in USERNAME_PROVIDERS else EMAIL_STYLES
        )
        if unique:
            styles = tuple((s.replace("{nn}", ""), w) for s, w in styles)
        self.styles = [s for s, _ in styles]
        self.cum: list[float] = []
        total = 0.0
        for _, w in styles:
            total += w
            self.cum.append(total)
        self.total = total
        self.domains: list[LazyPool] = []
        if provider in ("email", "ascii_email"):
            self.domains = [
                pools.provider(locale, "free_email_domain", None, 64),
                pools.provider(locale, "domain_name", None, TOKEN_POOL_SIZE),
            ]
        elif provider == "free_email":
            self.domains = [pools.provider(locale, "free_email_domain", None, 64)]
        elif provider == "company_email":
            self.domains = [pools.provider(locale, "domain_name", None, TOKEN_POOL_SIZE)]
        self._ascii: dict[tuple[int, int], str] = {}
        self.base = derive(pools.seed, locale, "composed", provider, unique)
        self.pool = pools.register(
            ("email", locale, provider, unique), LazyPool(COMPOSED_POOL, self.compose)
        )

    def _folded(self, pool: LazyPool, k: int, fallback: str) -> str:
        key = (id(pool), k)
        text = self._ascii.get(key)
        if text is None:
            text = ascii_fold(str(pool.get(k))) or fallback
            self._ascii[key] = text
        return text

    def compose(self, k: int) -> tuple[str, str]:
        """(local part, "@domain" or "") of slot k."""
        h = mix(self.base ^ k)
        si = min(bisect(self.cum, (h & 0xFFFFFFFF) / 4294967296.0 * self.total), len(self.cum) - 1)
        h2 = mix(h)
        fk, lk = (h2 & 0x3FF) % self.first.size, ((h2 >> 10) & 0x3FF) % self.last.size
        f = self._folded(self.first, fk, "") or self._folded(self.first_latin, fk, "user")
        last = self._folded(self.last, lk, "") or self._folded(self.last_latin, lk, "name")
        local = self.styles[si].format(
            f=f, l=last, i=f[0], i2="abcdeghjklmnprstw"[(h2 >> 50) % 17], nn=(h2 >> 20) % 100
        )
        if self.provider in USERNAME_PROVIDERS:
            return local, ""
        if not self.domains:
            return local, "@" + SAFE_DOMAINS[(h2 >> 30) % 3]
        pool = self.domains[0]
        if len(self.domains) > 1 and (h2 >> 40) % 100 >= 60:
            pool = self.domains[1]
        return local, "@" + str(pool.get(((h2 >> 44) & 0x3FF) % pool.size))

    def draw(self, rng: Random, start: int, n: int) -> list[str]:
        parts = self.pool.draw(rng, n)
        if self.unique:
            return [
                f"{local}{i}{domain}"
                for (local, domain), i in zip(parts, range(start + 1, start + n + 1), strict=True)
            ]
        return [local + domain for local, domain in parts]
