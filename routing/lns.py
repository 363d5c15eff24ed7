"""Ruin and recreate around OR-Tools: our own large-neighbourhood search for days without clocks.

OR-Tools' guided local search moves one or two stops at a time and stalls on long routes (X-n214-k11:
6 % above the best known after 60 s). This loop starts from OR-Tools' plan and, many thousand times a
second, removes a few strings of neighbouring stops from neighbouring routes and puts them back where
each costs least, keeping the result by simulated annealing: slack induction by string removals
(Christiaens and Vanden Berghe, Transportation Science 2020), our own implementation compiled with
numba.

It serves the problems whose every constraint is a sum along the route: capacity per trip, with trips
to a facility between them and before the way home (each by the facility that costs least there), the
longest shift (driving, service, unloading), optional stops with their penalty, trucks' fixed costs,
several depots, and a re-plan's trucks setting off mid-day from where they are with what they carry
(a truck that sets off loaded may unload before its first stop). Drivers' breaks too, where nothing
else keeps a clock: a break shortens the shift by its length, and the plan takes it at the first
departure within its window (on the road when the window opens during a drive that, with the stop
at its end, would carry past it; not at all when the truck is home before the window closes). A
tip's opening hours too, when every tip keeps the same ones and opens before any truck could get
there: each route must reach its last tip before the closing (breaks to come counted as taken
before it), checked for each insertion and for each step kept. Time windows, and tips with other
hours, stay with OR-Tools alone (`fits` tells which). Deterministic for a seed
and a number of iterations; under a wall-clock budget the iterations done vary with the machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit

from core.errors import InvalidInput
from routing.problem import Break, Problem, Route, Solution, Vehicle, Visit

NEIGHBOURS = 100  # of each stop, nearest first: where a ruin looks for the next route to cut
MEAN_REMOVED = 10.0  # c-bar in the paper: stops removed per ruin on average
LONGEST_STRING = 10.0  # L-max: the longest string cut from one route
BLINK = 0.01  # chance that recreate skips a position it could take (diversity)
START_TEMPERATURE = 2.0  # times a mean arc of the starting plan (X-n513-k21 at 60 s: 0.3 gave 2.6 %, 1: 0.9,
END_TEMPERATURE = 0.02  # 2: 0.3, 4: 1.1; X-n214-k11: 1 gave 0.7 %, 2: 0.3)
MANDATORY = 1e12  # what leaving a mandatory stop out costs
RUIN_ORDER = np.array([4.0, 4.0, 2.0, 1.0])  # random, largest demand, farthest, nearest: as in the paper


def fits(problem: Problem) -> bool:
    """Whether every constraint of `problem` is one this search keeps (see the module's text)."""
    if problem.distance_m is None or any(s.time_window for s in problem.stops):
        return False
    hours = {f.opening_s for f in problem.facilities}
    if not hours or hours == {None}:
        return True
    if len(hours) > 1:
        return False  # tips with different hours: OR-Tools
    ((opens, _),) = hours  # type: ignore[misc]
    return opens <= _earliest_unload(problem)  # open before any truck can get there: nobody waits


def _earliest_unload(problem: Problem) -> float:
    """The soonest any truck could reach a facility: at once when it sets off loaded, else after a stop."""
    t = problem.driving_s()
    depots = len(problem.depots)
    facilities = np.arange(depots, depots + len(problem.facilities))
    places = np.arange(depots + len(problem.facilities), t.shape[0])
    svc = np.array([s.service_time_s for s in problem.stops], dtype=np.float64)
    depot_of = {dp.id: n for n, dp in enumerate(problem.depots)}
    soonest = math.inf
    for v in problem.vehicles:
        o = depot_of[v.start_at or v.depot]
        if v.start_load > 0:
            soonest = min(soonest, v.start_s + float(t[o, facilities].min()))
        elif len(places):
            via = t[o, places] + svc + t[np.ix_(places, facilities)].min(axis=1)
            soonest = min(soonest, v.start_s + float(via.min()))
    return soonest


@njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True)
def _measure(  # type: ignore[no-untyped-def]
    r, seq, brk, length, trip_load, merge, d, t, place, demand, svc, cap, h, via_c, via_t, home_c, home_t,
    src, load0, first_c, first_t,
):  # fmt: skip
    """Route `r`'s (cost, duration) from scratch, and each position's trip load; with `merge`, neighbouring
    trips that fit in one truckload become one (a ruin leaves them lighter). The truck sets off from place
    `src` carrying `load0`; a break before the first stop is a trip to unload that (`first_c`, `first_t`:
    from `src` by a facility to each stop)."""
    n = length[r]
    if merge:
        carried = load0
        for i in range(n):
            if brk[r, i]:
                following = 0
                j = i
                while j < n and (j == i or not brk[r, j]):
                    following += demand[seq[r, j]]
                    j += 1
                if carried + following <= cap:
                    brk[r, i] = False
                else:
                    carried = 0
            carried += demand[seq[r, i]]
    cost = 0.0
    dur = 0.0
    begun = 0
    carried = load0
    for i in range(n):
        s = seq[r, i]
        if i == 0 and brk[r, 0]:
            cost += first_c[s]
            dur += first_t[s]
            carried = 0
        elif i == 0:
            cost += d[src, place[s]]
            dur += t[src, place[s]]
        elif brk[r, i]:
            cost += via_c[seq[r, i - 1], s]
            dur += via_t[seq[r, i - 1], s]
            for j in range(begun, i):
                trip_load[r, j] = carried
            begun = i
            carried = 0
        else:
            cost += d[place[seq[r, i - 1]], place[s]]
            dur += t[place[seq[r, i - 1]], place[s]]
        dur += svc[s]
        carried += demand[s]
    for j in range(begun, n):
        trip_load[r, j] = carried
    if n > 0:
        cost += home_c[seq[r, n - 1], h]
        dur += home_t[seq[r, n - 1], h]
    return cost, dur


@njit(cache=True)
def _search(iterations, t_from, t_to, m, w, a, b, where, state):  # type: ignore[no-untyped-def]
    """`iterations` ruin-and-recreate steps from the accepted plan `a` (mirrored in the working `w`), the
    temperature falling from `t_from` to `t_to`; the best plan goes to `b`. Plans are (seq, brk,
    length, trip load, cost, duration) per route; `brk` marks a stop after a trip to a facility.
    `state` holds the accepted cost and the best cost."""
    seq, brk, length, trip_load, cost, dur = w
    d, t, place, demand, svc, penalty, dep, cap, fixed, shift = m[:10]
    neighbours, order_weights, via_c, via_t, home_c, home_t, trips, origin, load0, first_c, first_t = m[10:21]
    tail_t, close_left = m[21:]
    routes = seq.shape[0]
    stops = demand.shape[0]
    touched = np.zeros(routes, dtype=np.bool_)
    absent = np.empty(stops, dtype=np.int64)
    keys = np.empty(stops)
    kept_seq = np.empty(seq.shape[1], dtype=np.int64)
    kept_brk = np.empty(seq.shape[1], dtype=np.bool_)
    weight_sum = order_weights.sum()

    def measure(r: int, merge: bool) -> tuple[float, float]:
        args = (d, t, place, demand, svc, cap[r], dep[r], via_c, via_t, home_c, home_t)
        start = (origin[r], load0[r], first_c[r], first_t[r])
        return _measure(r, seq, brk, length, trip_load, merge, *args, *start)  # type: ignore[no-any-return]

    for it in range(iterations):
        temperature = t_from * (t_to / t_from) ** (it / max(1, iterations))
        touched[:] = False
        # ---- ruin: strings of neighbouring stops, each from another route
        used = 0
        served = 0
        for r in range(routes):
            if length[r] > 0:
                used += 1
                served += length[r]
        if served > 0:
            ls_max = min(LONGEST_STRING, served / used)
            ks_max = 4.0 * MEAN_REMOVED / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed_stop = np.random.randint(stops)
            while where[seed_stop] < 0:
                seed_stop = np.random.randint(stops)
            cut = 0
            for j in range(neighbours.shape[1]):
                c = neighbours[seed_stop, j]
                r = where[c]
                if r < 0 or touched[r]:
                    continue
                size = length[r]
                pos = 0
                for i in range(size):
                    if seq[r, i] == c:
                        pos = i
                        break
                cut_len = int(np.random.random() * min(float(size), ls_max)) + 1
                keep = 0
                if cut_len < size and np.random.random() < 0.5:  # split string: `keep` stops in it stay
                    keep = 1
                    while cut_len + keep < size and np.random.random() < 0.5:
                        keep += 1
                span = cut_len + keep
                lo = max(0, pos - span + 1)
                hi = min(pos, size - span)
                start = lo + int(np.random.random() * (hi - lo + 1))
                kept_at = start + int(np.random.random() * (span - keep + 1)) if keep > 0 else -1
                n = 0
                pending = False  # a trip boundary among the removed passes to the next stop kept
                for i in range(size):
                    pending = pending or brk[r, i]
                    inside = start <= i < start + span
                    stays = keep > 0 and kept_at <= i < kept_at + keep
                    if inside and not stays:
                        where[seq[r, i]] = -1  # absent: the recreate below puts it back
                    else:
                        kept_seq[n] = seq[r, i]
                        kept_brk[n] = pending and (n > 0 or load0[r] > 0)
                        pending = False
                        n += 1
                seq[r, :n] = kept_seq[:n]
                brk[r, :n] = kept_brk[:n]
                length[r] = n
                cost[r], dur[r] = measure(r, True)
                touched[r] = True
                cut += 1
                if cut >= ks:
                    break
        # ---- recreate: everything absent (the ruined, and optional stops left out), in one of four orders
        n_absent = 0
        for s in range(stops):
            if where[s] < 0:
                absent[n_absent] = s
                n_absent += 1
        pick = np.random.random() * weight_sum
        rule = 0
        while rule < 3 and pick >= order_weights[rule]:
            pick -= order_weights[rule]
            rule += 1
        for i in range(n_absent):
            s = absent[i]
            if rule == 0:
                keys[i] = np.random.random()
            elif rule == 1:
                keys[i] = -demand[s]
            elif rule == 2:
                keys[i] = -d[dep[0], place[s]]
            else:
                keys[i] = d[dep[0], place[s]]
        order = np.argsort(keys[:n_absent])
        for i in range(n_absent):
            s = absent[order[i]]
            p = place[s]
            q = demand[s]
            best = penalty[s]
            best_r = -1
            best_k = 0
            best_mode = 0  # 0: into a trip; 1: first of the trip after a facility; 2: a new trip at the end
            for r in range(routes):
                if q > cap[r]:
                    continue
                h = dep[r]
                src = origin[r]
                size = length[r]
                limit = min(shift[r], close_left[r] + tail_t[s, h])  # home in time, and tipped before closing
                if size == 0:
                    if load0[r] + q <= cap[r]:
                        delta = fixed[r] + d[src, p] + home_c[s, h]
                        if delta < best and t[src, p] + svc[s] + home_t[s, h] <= limit:
                            best, best_r, best_k, best_mode = delta, r, 0, 0
                    if trips and load0[r] > 0:  # unload what it carries first
                        delta = fixed[r] + first_c[r, s] + home_c[s, h]
                        if delta < best and first_t[r, s] + svc[s] + home_t[s, h] <= limit:
                            best, best_r, best_k, best_mode = delta, r, 0, 1
                    continue
                if not trips and trip_load[r, 0] + q > cap[r]:
                    continue  # one trip a day, and it is full
                # before the last stop: the way home keeps its tip, so the closing leaves `room` as well;
                # after it (k == size), the new last stop's tip decides: `last_room`
                last_room = min(shift[r], close_left[r] + tail_t[s, h]) - dur[r] - svc[s]
                room = min(shift[r], close_left[r] + tail_t[seq[r, size - 1], h]) - dur[r] - svc[s]
                for k in range(size + 1):
                    if np.random.random() < BLINK:
                        continue
                    if k == 0:
                        first = seq[r, 0]
                        o = place[first]
                        if not brk[r, 0]:
                            if trip_load[r, 0] + q <= cap[r]:
                                delta = d[src, p] + d[p, o] - d[src, o]
                                if delta < best and t[src, p] + t[p, o] - t[src, o] <= room:
                                    best, best_r, best_k, best_mode = delta, r, 0, 0
                            # unload what it carries first: the first trip then carries no more than that
                            if trips and load0[r] > 0 and trip_load[r, 0] - load0[r] + q <= cap[r]:
                                delta = first_c[r, s] + d[p, o] - d[src, o]
                                if delta < best and first_t[r, s] + t[p, o] - t[src, o] <= room:
                                    best, best_r, best_k, best_mode = delta, r, 0, 1
                            continue
                        if load0[r] + q <= cap[r]:  # on the way to unloading first
                            delta = d[src, p] + via_c[s, first] - first_c[r, first]
                            if delta < best and t[src, p] + via_t[s, first] - first_t[r, first] <= room:
                                best, best_r, best_k, best_mode = delta, r, 0, 0
                        if trip_load[r, 0] + q <= cap[r]:  # first after unloading
                            delta = first_c[r, s] + d[p, o] - first_c[r, first]
                            if delta < best and first_t[r, s] + t[p, o] - first_t[r, first] <= room:
                                best, best_r, best_k, best_mode = delta, r, 0, 1
                        continue
                    before = seq[r, k - 1]
                    bp = place[before]
                    if k == size:
                        if trip_load[r, k - 1] + q <= cap[r]:
                            delta = d[bp, p] + home_c[s, h] - home_c[before, h]
                            if delta < best and t[bp, p] + home_t[s, h] - home_t[before, h] <= last_room:
                                best, best_r, best_k, best_mode = delta, r, k, 0
                        if trips:
                            delta = via_c[before, s] + home_c[s, h] - home_c[before, h]
                            if (
                                delta < best
                                and via_t[before, s] + home_t[s, h] - home_t[before, h] <= last_room
                            ):
                                best, best_r, best_k, best_mode = delta, r, k, 2
                        continue
                    after = seq[r, k]
                    o = place[after]
                    if not brk[r, k]:
                        if trip_load[r, k] + q <= cap[r]:
                            delta = d[bp, p] + d[p, o] - d[bp, o]
                            if delta < best and t[bp, p] + t[p, o] - t[bp, o] <= room:
                                best, best_r, best_k, best_mode = delta, r, k, 0
                        continue
                    if trip_load[r, k - 1] + q <= cap[r]:  # last of the trip before the facility
                        delta = d[bp, p] + via_c[s, after] - via_c[before, after]
                        if delta < best and t[bp, p] + via_t[s, after] - via_t[before, after] <= room:
                            best, best_r, best_k, best_mode = delta, r, k, 0
                    if trip_load[r, k] + q <= cap[r]:  # first of the trip after it
                        delta = via_c[before, s] + d[p, o] - via_c[before, after]
                        if delta < best and via_t[before, s] + t[p, o] - via_t[before, after] <= room:
                            best, best_r, best_k, best_mode = delta, r, k, 1
            if best_r < 0:
                continue
            r = best_r
            for k in range(length[r], best_k, -1):
                seq[r, k] = seq[r, k - 1]
                brk[r, k] = brk[r, k - 1]
            seq[r, best_k] = s
            brk[r, best_k] = best_mode > 0
            if best_mode == 1:
                brk[r, best_k + 1] = False
            length[r] += 1
            where[s] = r
            cost[r], dur[r] = measure(r, False)
            touched[r] = True
        # ---- accept or undo (a ruin that moved a route's tip past its closing undoes the step)
        fine = True
        for r in range(routes):
            if touched[r] and length[r] > 0:
                fine = fine and dur[r] - tail_t[seq[r, length[r] - 1], dep[r]] <= close_left[r] + 1e-6
        total = 0.0
        for r in range(routes):
            if length[r] > 0:
                total += cost[r] + fixed[r]
        for s in range(stops):
            if where[s] < 0:
                total += penalty[s]
        if fine and total < state[0] - temperature * math.log(np.random.random()):
            state[0] = total
            _copy(w, a, touched)
            if total < state[1] - 1e-9:
                state[1] = total
                touched[:] = True
                _copy(w, b, touched)
        else:
            for r in range(routes):
                if touched[r]:
                    for i in range(length[r]):
                        where[seq[r, i]] = -1
            _copy(a, w, touched)
            for r in range(routes):
                if touched[r]:
                    for i in range(length[r]):
                        where[seq[r, i]] = r


@njit(cache=True)
def _copy(source, target, routes):  # type: ignore[no-untyped-def]
    """The chosen `routes` of one plan into another."""
    for r in range(routes.shape[0]):
        if routes[r]:
            n = source[2][r]
            target[2][r] = n
            target[0][r, :n] = source[0][r, :n]
            target[1][r, :n] = source[1][r, :n]
            target[3][r, :n] = source[3][r, :n]
            target[4][r] = source[4][r]
            target[5][r] = source[5][r]


class _Model(NamedTuple):
    """The problem as the compiled search reads it: places index the matrices, stops index the rest."""

    d: np.ndarray
    t: np.ndarray
    place: np.ndarray  # each stop's place in the matrices
    demand: np.ndarray
    svc: np.ndarray
    penalty: np.ndarray
    dep: np.ndarray  # each truck's depot (its place)
    cap: np.ndarray
    fixed: np.ndarray
    shift: np.ndarray
    neighbours: np.ndarray
    order_weights: np.ndarray
    via_c: np.ndarray  # stop to stop by way of the facility that costs least between them (and its unloading)
    via_t: np.ndarray
    home_c: np.ndarray  # from a stop home to each depot: by a facility when there are any
    home_t: np.ndarray
    trips: bool
    origin: np.ndarray  # where each truck sets off (its place): its depot, or where a re-plan finds it
    load0: np.ndarray  # what each truck carries when it sets off
    first_c: np.ndarray  # from each truck's origin by the facility that costs least to each stop
    first_t: np.ndarray
    tail_t: np.ndarray  # from arriving at the facility on a stop's way home to each depot: unloading, driving
    close_left: np.ndarray  # each truck's time from setting off to the tip's closing, breaks to come aside


class _Ways(NamedTuple):
    """Which facility each trip goes by (-1: none): between two stops, from a stop home, from a truck's
    origin to its first stop."""

    via: np.ndarray
    home: np.ndarray
    first: np.ndarray


def _by_facility(
    problem: Problem, d: np.ndarray, t: np.ndarray, sources: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """From each place in `sources` to each in `targets` by the facility that costs least between them:
    (cost with its unloading, seconds with its unloading, which facility); None without facilities."""
    out = None
    for f, facility in enumerate(problem.facilities):
        at = len(problem.depots) + f
        cost = d[sources, at][:, None] + facility.unload_cost_m + d[at, targets][None, :]
        secs = t[sources, at][:, None] + facility.unload_s + t[at, targets][None, :]
        if out is None:
            out = (cost, secs, np.zeros(cost.shape, dtype=np.int64))
            continue
        better = cost < out[0]
        out = (np.where(better, cost, out[0]), np.where(better, secs, out[1]), np.where(better, f, out[2]))
    return out


def _model(problem: Problem) -> tuple[_Model, _Ways]:
    """The compiled search's view of `problem`, and which facility each trip goes by."""
    assert problem.distance_m is not None
    d = np.asarray(problem.distance_m, dtype=np.float64)
    t = problem.driving_s().astype(np.float64)
    depots, base = len(problem.depots), len(problem.depots) + len(problem.facilities)
    stops = len(problem.stops)
    place = np.arange(base, base + stops, dtype=np.int64)
    sub = d[np.ix_(place, place)]
    depot_of = {dp.id: n for n, dp in enumerate(problem.depots)}
    origin = np.array([depot_of[v.start_at or v.depot] for v in problem.vehicles], dtype=np.int64)
    via = _by_facility(problem, d, t, place, place)
    home = _by_facility(problem, d, t, place, np.arange(depots))
    first = _by_facility(problem, d, t, origin, place)
    if via is None or home is None or first is None:  # no facilities: one trip, straight home
        none = np.full((1, 1), -1, dtype=np.int64)
        via = (np.zeros((1, 1)), np.zeros((1, 1)), none)
        home = (
            d[place, :depots].copy(),
            t[place, :depots].copy(),
            np.full((stops, depots), -1, dtype=np.int64),
        )
        first = (np.zeros((len(origin), stops)), np.zeros((len(origin), stops)), none)
    (via_c, via_t, via_f), (home_c, home_t, home_f), (first_c, first_t, first_f) = via, home, first
    model = _Model(
        d=d,
        t=t,
        place=place,
        demand=np.array([s.demand for s in problem.stops], dtype=np.int64),
        svc=np.array([s.service_time_s for s in problem.stops], dtype=np.float64),
        penalty=np.array([MANDATORY if s.penalty_m is None else s.penalty_m for s in problem.stops]),
        dep=np.array([depot_of[v.depot] for v in problem.vehicles], dtype=np.int64),
        cap=np.array([v.capacity for v in problem.vehicles], dtype=np.int64),
        fixed=np.array([v.fixed_cost_m for v in problem.vehicles], dtype=np.float64),
        shift=np.array(  # what is left for driving and work, breaks to come aside
            [v.shift_s - v.start_s - sum(b.duration_s for b in _ahead(v)) for v in problem.vehicles],
            dtype=np.float64,
        ),
        neighbours=np.argsort(sub + sub.T, axis=1, kind="stable")[:, : min(stops, NEIGHBOURS)].astype(
            np.int64
        ),
        order_weights=RUIN_ORDER,
        via_c=np.ascontiguousarray(via_c),
        via_t=np.ascontiguousarray(via_t),
        home_c=np.ascontiguousarray(home_c),
        home_t=np.ascontiguousarray(home_t),
        trips=bool(problem.facilities),
        origin=origin,
        load0=np.array([v.start_load for v in problem.vehicles], dtype=np.int64),
        first_c=np.ascontiguousarray(first_c),
        first_t=np.ascontiguousarray(first_t),
        tail_t=np.ascontiguousarray(_tails(problem, t, home_f)),
        close_left=np.array([_close_left(problem, v) for v in problem.vehicles], dtype=np.float64),
    )
    return model, _Ways(via_f, home_f, first_f)


def _tails(problem: Problem, t: np.ndarray, home_f: np.ndarray) -> np.ndarray:
    """Seconds from arriving at each stop's facility on its way home to each depot: unloading, then home
    (0 without facilities)."""
    if not problem.facilities:
        return np.zeros(home_f.shape)
    depots = len(problem.depots)
    unload = np.array([f.unload_s for f in problem.facilities], dtype=np.float64)
    home = np.arange(home_f.shape[1])[None, :]
    return np.where(home_f >= 0, unload[home_f] + t[depots + home_f, home], 0.0)


def _close_left(problem: Problem, vehicle: Vehicle) -> float:
    """A truck's seconds from setting off until the tips close (less its breaks to come); inf when they
    keep no hours. (`fits` lets in only tips that share their hours.)"""
    closes = [f.opening_s[1] for f in problem.facilities if f.opening_s is not None]
    if not closes:
        return math.inf
    return min(closes) - vehicle.start_s - sum(b.duration_s for b in _ahead(vehicle))


def improve(
    problem: Problem,
    start: Solution,
    *,
    time_limit_s: float,
    seed: int = 0,
    iterations: int | None = None,
    on_solution: Callable[[int], None] | None = None,
) -> Solution:
    """The best plan found from `start` within `time_limit_s`, or in `iterations` steps (the same plan
    for the same seed, unless `time_limit_s` cuts it short); `problem` must fit (see `fits`)."""
    assert fits(problem)
    started = time.perf_counter()
    m, ways_by = _model(problem)
    stops, routes = len(problem.stops), len(problem.vehicles)
    w = (
        np.zeros((routes, stops + 1), dtype=np.int64),  # the stops in order
        np.zeros((routes, stops + 1), dtype=np.bool_),  # a trip to a facility before this stop
        np.zeros(routes, dtype=np.int64),
        np.zeros((routes, stops + 1), dtype=np.int64),  # the load of each stop's trip
        np.zeros(routes),
        np.zeros(routes),
    )
    seq, brk, length, trip_load, cost, dur = w
    where = np.full(stops, -1, dtype=np.int64)
    index = {s.id: n for n, s in enumerate(problem.stops)}
    by_vehicle = {r.vehicle: r for r in start.routes}
    ways, trips = (m.d, m.t, m.place, m.demand, m.svc), (m.via_c, m.via_t, m.home_c, m.home_t)
    starts = [(m.origin[k], m.load0[k], m.first_c[k], m.first_t[k]) for k in range(routes)]
    for k, vehicle in enumerate(problem.vehicles):
        route = by_vehicle.get(vehicle.id)
        after_facility = False
        for visit in route.visits if route else ():
            if visit.kind == "facility":
                after_facility = True
            elif visit.id in index and where[index[visit.id]] < 0:
                seq[k, length[k]] = index[visit.id]
                brk[k, length[k]] = after_facility and (length[k] > 0 or m.load0[k] > 0) and m.trips
                where[index[visit.id]] = k
                length[k] += 1
                after_facility = False
        cost[k], dur[k] = _measure(
            k, seq, brk, length, trip_load, False, *ways, m.cap[k], m.dep[k], *trips, *starts[k]
        )
    total = float(sum(cost[k] + m.fixed[k] for k in range(routes) if length[k]) + m.penalty[where < 0].sum())
    state = np.array([total, total])
    a = tuple(x.copy() for x in w)
    b = tuple(x.copy() for x in w)
    _seed(seed)
    if not length.any():  # nothing to start from: one greedy recreate of everything, to size the temperature
        _search(1, 1e-9, 1e-9, m, w, a, b, where, state)
    arcs = max(1, int(length.sum()) + int((length > 0).sum()))
    mean_arc = max(1e-3, float(cost.sum()) / arcs)
    t_start, t_end = START_TEMPERATURE * mean_arc, END_TEMPERATURE * mean_arc

    def temperature(share: float) -> float:
        return float(t_start * (t_end / t_start) ** min(1.0, share))

    # steps per call: sized to take about `aim` seconds, or fixed when the count is (the same plan each
    # time: a chunk's temperatures fall as they would in one call)
    chunk, best_seen, aim, done = 50 if iterations is None else 1000, state[1], 0.1, 0
    begun = time.perf_counter()
    span = max(1e-3, started + time_limit_s - begun)
    while (now := time.perf_counter()) < started + time_limit_s:
        if iterations is None:
            steps, share, share_to = chunk, (now - begun) / span, (now - begun + aim) / span
        elif done < iterations:
            steps = min(chunk, iterations - done)
            share, share_to = done / iterations, (done + steps) / iterations
        else:
            break
        _search(steps, temperature(share), temperature(share_to), m, w, a, b, where, state)
        done += steps
        if iterations is None:
            chunk = max(10, min(50_000, int(chunk * aim / max(time.perf_counter() - now, 1e-4))))
        if on_solution is not None and state[1] < best_seen:
            best_seen = state[1]
            on_solution(round(best_seen))
    found = _solution(problem, b, ways_by, m, time.perf_counter() - started)
    if not _keeps_hours(problem, found):  # breaks taken otherwise than reckoned: the plan it started from
        return start.model_copy(update={"solve_s": time.perf_counter() - started})
    mandatory = {s.id for s in problem.stops if s.penalty_m is None}
    if missing := [k for k in found.dropped if k in mandatory]:
        raise InvalidInput(
            f"no plan serves problem {problem.name!r}: {len(missing)} stop(s) fit no truck's capacity "
            f"and shift beside the others, e.g. {', '.join(missing[:5])}"
        )
    return found


def _ahead(vehicle: Vehicle) -> list[Break]:
    """The vehicle's breaks still to take when it sets off, earliest first."""
    return sorted((b for b in vehicle.breaks if b.latest_s >= vehicle.start_s), key=lambda b: b.earliest_s)


class _Pauses:
    """Where a route takes its driver's breaks, as the route is driven (see the module's text)."""

    def __init__(self, vehicle: Vehicle) -> None:
        self.pending, self.taken = _ahead(vehicle), list[tuple[str, int]]()

    def before(self, clock: float, drive: float, work: float = 0.0, *, home: bool = False) -> float:
        """The clock on setting off for a leg of `drive` seconds and `work` at its end, breaks taken (the
        leg's end is the end of the day when `home`). A break due before the leg's end is taken on the
        road when its window opens during the drive, so the truck arrives that much later."""
        while self.pending:
            b = self.pending[0]
            if home and clock + drive <= b.latest_s:
                break  # home before the window closes: the day ends first
            if clock < b.earliest_s and clock + drive + work <= b.latest_s:
                break  # the next departure is soon enough
            start = max(clock, b.earliest_s)
            if start <= clock + drive:  # now, or on the road: the drive resumes after it
                clock += b.duration_s
            else:  # at the stop, waiting for the window, before the work
                clock = start + b.duration_s - drive
            self.taken.append((b.id, round(start)))
            self.pending.pop(0)
        return clock


def _keeps_hours(problem: Problem, solution: Solution) -> bool:
    """Whether every unloading of `solution` falls within its facility's hours."""
    hours = {f.id: f.opening_s for f in problem.facilities}
    return all(
        (window := hours.get(v.id)) is None or window[0] - 1 <= v.arrival_s <= window[1] + 1
        for r in solution.routes
        for v in r.visits
        if v.kind == "facility"
    )


def _solution(
    problem: Problem, plan: tuple[np.ndarray, ...], ways: _Ways, m: _Model, spent: float
) -> Solution:
    """The search's routes as a plan: each stop's and facility's arrival, and the load carried on. A truck
    that set off away from its depot or loaded and has no stops left still has its way home (by a tip
    when loaded)."""
    seq, brk, length = plan[0], plan[1], plan[2]
    depots = len(problem.depots)
    routes, served = [], set()

    def facility(f: int, at: int, clock: float, driven: float) -> tuple[int, float, float]:
        """Drive from place `at` to facility `f` and unload there: its visit appended."""
        there = depots + f
        clock = pauses.before(clock, m.t[at, there], problem.facilities[f].unload_s)
        clock += m.t[at, there]
        visits.append(Visit(kind="facility", id=problem.facilities[f].id, load=0, arrival_s=round(clock)))
        return there, clock + problem.facilities[f].unload_s, driven + m.d[at, there]

    for k, vehicle in enumerate(problem.vehicles):
        home, at = int(m.dep[k]), int(m.origin[k])
        if not length[k] and at == home and not vehicle.start_load:
            continue
        clock, load, driven = float(vehicle.start_s), int(vehicle.start_load), 0.0
        visits: list[Visit] = []
        pauses = _Pauses(vehicle)
        previous = -1
        for i, s in enumerate(seq[k, : length[k]]):
            stop, place = problem.stops[s], int(m.place[s])
            if brk[k, i]:
                by = ways.first[k, s] if i == 0 else ways.via[previous, s]
                at, clock, driven = facility(int(by), at, clock, driven)
                load = 0
            clock = pauses.before(clock, m.t[at, place], stop.service_time_s)
            clock += m.t[at, place]
            driven += m.d[at, place]
            load += stop.demand
            visits.append(Visit(kind="stop", id=stop.id, load=load, arrival_s=round(clock)))
            clock += stop.service_time_s
            served.add(stop.id)
            at, previous = place, int(s)
        if previous >= 0 and ways.home[previous, home] >= 0:
            at, clock, driven = facility(int(ways.home[previous, home]), at, clock, driven)
        elif (
            previous < 0
            and load
            and (way := _by_facility(problem, m.d, m.t, np.array([at]), np.array([home])))
        ):
            at, clock, driven = facility(int(way[2][0, 0]), at, clock, driven)  # nothing to collect: unload
        clock = pauses.before(clock, m.t[at, home], home=True)
        clock += m.t[at, home]
        driven += m.d[at, home]
        routes.append(Route(vehicle=vehicle.id, visits=tuple(visits), distance_m=driven, duration_s=clock,
                            breaks=tuple(pauses.taken)))  # fmt: skip
    return Solution(
        problem=problem.name,
        routes=tuple(routes),
        distance_m=sum(r.distance_m for r in routes),
        dropped=tuple(s.id for s in problem.stops if s.id not in served),
        solve_s=spent,
    )
