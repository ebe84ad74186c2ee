"""
Independent reference values for packages/common/src/dp (see dp-accountant-reference.md).

Written from the closed forms only, in 60-digit arithmetic (mpmath), sharing no code
with the TypeScript implementation. Re-run with:  python3 dp-reference.py
"""
from mpmath import mp, mpf, sqrt, exp, log, erfc

mp.dps = 60


def Phi(x):
    return erfc(-x / sqrt(2)) / 2


def delta_exact(eps, mu):
    """Balle & Wang 2018, Thm 8: tight delta(eps) of a Gaussian mechanism with mu = sensitivity/sigma."""
    return Phi(-eps / mu + mu / 2) - exp(eps) * Phi(-eps / mu - mu / 2)


def eps_exact(delta, mu):
    """delta(eps) is decreasing in eps: bisect to 1e-40."""
    lo, hi = mpf(0), mpf(1)
    if delta_exact(lo, mu) <= delta:
        return mpf(0)
    while delta_exact(hi, mu) > delta:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if delta_exact(mid, mu) > delta:
            lo = mid
        else:
            hi = mid
    return hi


# The order grid of DEFAULT_RDP_ORDERS in src/dp/rdp.ts, written out independently.
ORDERS = [1 + mpf(x) / 20 for x in range(1, 80)] + [mpf(a) for a in range(5, 65)] + [
    mpf(a) for a in (72, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024, 1536, 2048, 3072, 4096)
]


def eps_rdp_standard(z, T, delta):
    # Mironov 2017, Prop. 3: eps = rdp(a) + log(1/delta)/(a-1), rdp(a) = T*a/(2 z^2).
    return min((T * a / (2 * z * z) + log(1 / delta) / (a - 1), a) for a in ORDERS)


def eps_rdp_tight(z, T, delta):
    # Balle et al. 2020 / Canonne-Kamath-Steinke 2020, as in dp_accounting and Opacus.
    best = None
    for a in ORDERS:
        r = T * a / (2 * z * z)
        if delta ** 2 + (exp(-r) - 1) >= 0:
            e = mpf(0)
        else:
            e = r - (log(delta) + log(a)) / (a - 1) + log((a - 1) / a)
        if best is None or e < best[0]:
            best = (e, a)
    return (max(best[0], mpf(0)), best[1])


def eps_rdp_standard_continuous(z, T, delta):
    # min over real a > 1 of A a + B/(a-1): a - 1 = sqrt(B/A), eps = A + 2 sqrt(A B).
    A = mpf(T) / (2 * z * z)
    B = log(1 / delta)
    return A + 2 * sqrt(A * B)


CASES = [
    # (noise multiplier z, rounds T, delta)
    (mpf("0.5"), 1, mpf("1e-5")),
    (mpf("1.0"), 1, mpf("1e-5")),
    (mpf("1.0"), 10, mpf("1e-5")),
    (mpf("1.1"), 100, mpf("1e-5")),
    (mpf("2.0"), 50, mpf("1e-6")),
    (mpf("4.0"), 200, mpf("1e-5")),
    (mpf("10.0"), 1, mpf("1e-5")),
    (mpf("10.0"), 1000, mpf("1e-5")),
]

if __name__ == "__main__":
    print("| z | T | delta | mu | eps exact (Balle-Wang) | eps RDP tight (order) | eps RDP standard (order) | standard, continuous order | delta_exact(eps=1) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for z, T, d in CASES:
        mu = sqrt(mpf(T)) / z
        ex = eps_exact(d, mu)
        ti, ta = eps_rdp_tight(z, T, d)
        st, sa = eps_rdp_standard(z, T, d)
        sc = eps_rdp_standard_continuous(z, T, d)
        print(
            f"| {mp.nstr(z, 3)} | {T} | {mp.nstr(d, 2)} | {mp.nstr(mu, 12)} | {mp.nstr(ex, 12)} | {mp.nstr(ti, 12)} ({mp.nstr(ta, 6)}) "
            f"| {mp.nstr(st, 12)} ({mp.nstr(sa, 6)}) | {mp.nstr(sc, 12)} | {mp.nstr(delta_exact(mpf(1), mu), 12)} |"
        )
