"""Ruin and recreate around OR-Tools: our own large-neighbourhood search for days without clocks.

OR-Tools' guided local search moves one or two stops at a time and stalls on long routes (X-n214-k11:
6 % above the best known after 60 s). This loop starts from OR-Tools' plan and, many thousand times a
second, removes a few strings of neighbouring stops from neighbouring routes and puts them back where
each costs least, keeping the result by simulated annealing: slack induction by string removals
(Christiaens and Vanden Berghe, Transportation Science 2020), our own implementation compiled with
numba.

It serves the problems whose every constraint is a sum along the route: capacity, the longest shift
(driving and service), optional stops with their penalty, trucks' fixed costs, several depots. Time
windows, drivers' breaks, opening hours, trips to a facility and a re-plan's mid-day starts stay with
OR-Tools alone (`fits` tells which). Deterministic for a seed and a number of iterations; under a
wall-clock budget the iterations done vary with the machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from core.errors import InvalidInput
from routing.problem import Problem, Route, Solution, Visit

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
    return (
        problem.distance_m is not None
        and not problem.facilities
        and not any(s.time_window for s in problem.stops)
        and all(
            not v.breaks and v.start_at in (None, v.depot) and v.start_s == 0 and v.start_load == 0
            for v in problem.vehicles
        )
    )


@njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True)
def _measure(r, seq, length, place, dep, d, t, svc, demand):  # type: ignore[no-untyped-def]
    """(cost, load, duration) of route `r` from scratch."""
    prev = dep[r]
    cost = 0.0
    dur = 0.0
    load = 0
    for i in range(length[r]):
        p = place[seq[r, i]]
        cost += d[prev, p]
        dur += t[prev, p] + svc[seq[r, i]]
        load += demand[seq[r, i]]
        prev = p
    if length[r] > 0:
        cost += d[prev, dep[r]]
        dur += t[prev, dep[r]]
    return cost, load, dur


@njit(cache=True)
def _search(  # type: ignore[no-untyped-def]
    iterations,
    t_from,
    t_to,
    d,
    t,
    place,
    demand,
    svc,
    penalty,
    dep,
    cap,
    fixed,
    shift,
    neighbours,
    order_weights,
    w_seq,
    w_len,
    w_load,
    w_dur,
    w_cost,
    where,
    a_seq,
    a_len,
    a_load,
    a_dur,
    a_cost,
    b_seq,
    b_len,
    state,
):
    """`iterations` ruin-and-recreate steps from the accepted plan `a_*` (mirrored in the working `w_*`),
    the temperature falling from `t_from` to `t_to`; the best plan goes to `b_*`. `state` holds the
    accepted cost and the best cost."""
    routes = w_seq.shape[0]
    stops = demand.shape[0]
    touched = np.zeros(routes, dtype=np.bool_)
    removed = np.empty(stops, dtype=np.int64)
    absent = np.empty(stops, dtype=np.int64)
    keys = np.empty(stops)
    buffer = np.empty(w_seq.shape[1], dtype=np.int64)
    weight_sum = order_weights.sum()
    for it in range(iterations):
        temperature = t_from * (t_to / t_from) ** (it / max(1, iterations))
        touched[:] = False
        # ---- ruin: strings of neighbouring stops, each from another route
        used = 0
        served = 0
        for r in range(routes):
            if w_len[r] > 0:
                used += 1
                served += w_len[r]
        n_removed = 0
        if served > 0:
            mean_card = served / used
            ls_max = min(10.0, mean_card)
            ks_max = 4.0 * 10.0 / (1.0 + ls_max) - 1.0
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
                size = w_len[r]
                pos = 0
                for i in range(size):
                    if w_seq[r, i] == c:
                        pos = i
                        break
                l_max = min(float(size), ls_max)
                length = int(np.random.random() * l_max) + 1
                keep = 0
                if length < size and np.random.random() < 0.5:  # split string: m stops in it stay
                    keep = 1
                    while length + keep < size and np.random.random() < 0.5:
                        keep += 1
                span = length + keep
                lo = max(0, pos - span + 1)
                hi = min(pos, size - span)
                start = lo + int(np.random.random() * (hi - lo + 1))
                kept_at = start + int(np.random.random() * (span - keep + 1)) if keep > 0 else -1
                n = 0
                for i in range(size):
                    inside = start <= i < start + span
                    stays = keep > 0 and kept_at <= i < kept_at + keep
                    if inside and not stays:
                        removed[n_removed] = w_seq[r, i]
                        n_removed += 1
                        where[w_seq[r, i]] = -1
                    else:
                        buffer[n] = w_seq[r, i]
                        n += 1
                for i in range(n):
                    w_seq[r, i] = buffer[i]
                w_len[r] = n
                w_cost[r], w_load[r], w_dur[r] = _measure(r, w_seq, w_len, place, dep, d, t, svc, demand)
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
            best = penalty[s]
            best_r = -1
            best_i = 0
            for r in range(routes):
                if w_load[r] + demand[s] > cap[r]:
                    continue
                h = dep[r]
                size = w_len[r]
                if size == 0:
                    delta = fixed[r] + d[h, p] + d[p, h]
                    if delta < best and t[h, p] + svc[s] + t[p, h] <= shift[r]:
                        best, best_r, best_i = delta, r, 0
                    continue
                for k in range(size + 1):
                    if np.random.random() < BLINK:
                        continue
                    a = h if k == 0 else place[w_seq[r, k - 1]]
                    b = h if k == size else place[w_seq[r, k]]
                    delta = d[a, p] + d[p, b] - d[a, b]
                    if delta < best and w_dur[r] + t[a, p] + svc[s] + t[p, b] - t[a, b] <= shift[r]:
                        best, best_r, best_i = delta, r, k
            if best_r < 0:
                continue
            r = best_r
            for k in range(w_len[r], best_i, -1):
                w_seq[r, k] = w_seq[r, k - 1]
            w_seq[r, best_i] = s
            w_len[r] += 1
            where[s] = r
            w_cost[r], w_load[r], w_dur[r] = _measure(r, w_seq, w_len, place, dep, d, t, svc, demand)
            touched[r] = True
        # ---- accept or undo
        total = 0.0
        for r in range(routes):
            if w_len[r] > 0:
                total += w_cost[r] + fixed[r]
        for s in range(stops):
            if where[s] < 0:
                total += penalty[s]
        if total < state[0] - temperature * math.log(np.random.random()):
            state[0] = total
            for r in range(routes):
                if touched[r]:
                    a_len[r] = w_len[r]
                    a_seq[r, : w_len[r]] = w_seq[r, : w_len[r]]
                    a_cost[r], a_load[r], a_dur[r] = w_cost[r], w_load[r], w_dur[r]
            if total < state[1] - 1e-9:
                state[1] = total
                b_len[:] = w_len
                b_seq[:, :] = w_seq
        else:
            for r in range(routes):
                if touched[r]:
                    for i in range(w_len[r]):
                        where[w_seq[r, i]] = -1
            for r in range(routes):
                if touched[r]:
                    w_len[r] = a_len[r]
                    w_seq[r, : a_len[r]] = a_seq[r, : a_len[r]]
                    w_cost[r], w_load[r], w_dur[r] = a_cost[r], a_load[r], a_dur[r]
                    for i in range(a_len[r]):
                        where[a_seq[r, i]] = r


def improve(
    problem: Problem,
    start: Solution,
    *,
    time_limit_s: float,
    seed: int = 0,
    iterations: int | None = None,
    on_solution: Callable[[int], None] | None = None,
) -> Solution:
    """The best plan found from `start` within `time_limit_s` (or exactly `iterations` steps, which makes
    it repeatable); `problem` must fit (see `fits`)."""
    assert fits(problem)
    assert problem.distance_m is not None
    started = time.perf_counter()
    d = np.asarray(problem.distance_m, dtype=np.float64)
    t = problem.driving_s().astype(np.float64)
    base = len(problem.depots)
    stops = len(problem.stops)
    place = np.arange(base, base + stops, dtype=np.int64)
    demand = np.array([s.demand for s in problem.stops], dtype=np.int64)
    svc = np.array([s.service_time_s for s in problem.stops], dtype=np.float64)
    penalty = np.array([MANDATORY if s.penalty_m is None else s.penalty_m for s in problem.stops])
    depot_of = {dp.id: n for n, dp in enumerate(problem.depots)}
    dep = np.array([depot_of[v.depot] for v in problem.vehicles], dtype=np.int64)
    cap = np.array([v.capacity for v in problem.vehicles], dtype=np.int64)
    fixed = np.array([v.fixed_cost_m for v in problem.vehicles], dtype=np.float64)
    shift = np.array([v.shift_s for v in problem.vehicles], dtype=np.float64)
    sub = d[np.ix_(place, place)]
    neighbours = np.argsort(sub + sub.T, axis=1, kind="stable")[:, : min(stops, NEIGHBOURS)].astype(np.int64)
    routes = len(problem.vehicles)
    w_seq = np.zeros((routes, stops + 1), dtype=np.int64)
    w_len = np.zeros(routes, dtype=np.int64)
    where = np.full(stops, -1, dtype=np.int64)
    index = {s.id: n for n, s in enumerate(problem.stops)}
    by_vehicle = {r.vehicle: r for r in start.routes}
    for k, vehicle in enumerate(problem.vehicles):
        route = by_vehicle.get(vehicle.id)
        for stop in route.stops if route else ():
            if stop in index and where[index[stop]] < 0:
                w_seq[k, w_len[k]] = index[stop]
                where[index[stop]] = k
                w_len[k] += 1
    w_cost, w_load, w_dur = np.zeros(routes), np.zeros(routes, dtype=np.int64), np.zeros(routes)
    for k in range(routes):
        w_cost[k], w_load[k], w_dur[k] = _measure(k, w_seq, w_len, place, dep, d, t, svc, demand)
    total = float(sum(w_cost[k] + fixed[k] for k in range(routes) if w_len[k]) + penalty[where < 0].sum())
    state = np.array([total, total])
    a_seq, a_len, a_load, a_dur, a_cost = (
        w_seq.copy(),
        w_len.copy(),
        w_load.copy(),
        w_dur.copy(),
        w_cost.copy(),
    )
    b_seq, b_len = w_seq.copy(), w_len.copy()
    _seed(seed)
    arguments = (d, t, place, demand, svc, penalty, dep, cap, fixed, shift, neighbours, RUIN_ORDER)
    solution = (w_seq, w_len, w_load, w_dur, w_cost, where, a_seq, a_len, a_load, a_dur, a_cost, b_seq, b_len)
    if not w_len.any():  # nothing to start from: one greedy recreate of everything, to size the temperature
        _search(1, 1e-9, 1e-9, *arguments, *solution, state)
    arcs = max(1, int(w_len.sum()) + int((w_len > 0).sum()))
    mean_arc = max(1e-3, float(w_cost.sum()) / arcs)
    t_start, t_end = START_TEMPERATURE * mean_arc, END_TEMPERATURE * mean_arc

    def temperature(share: float) -> float:
        return float(t_start * (t_end / t_start) ** min(1.0, share))

    if iterations is not None:
        _search(iterations, t_start, t_end, *arguments, *solution, state)
    else:
        chunk, best_seen, aim = 50, state[1], 0.1  # iterations per call, sized to about `aim` seconds
        begun = time.perf_counter()
        span = max(1e-3, started + time_limit_s - begun)
        while (now := time.perf_counter()) < started + time_limit_s:
            share = (now - begun) / span
            _search(chunk, temperature(share), temperature(share + aim / span), *arguments, *solution, state)
            chunk = max(10, min(50_000, int(chunk * aim / max(time.perf_counter() - now, 1e-4))))
            if on_solution is not None and state[1] < best_seen:
                best_seen = state[1]
                on_solution(round(best_seen))
    found = _solution(problem, b_seq, b_len, d, t, time.perf_counter() - started)
    mandatory = {s.id for s in problem.stops if s.penalty_m is None}
    if missing := [k for k in found.dropped if k in mandatory]:
        raise InvalidInput(
            f"no plan serves problem {problem.name!r}: {len(missing)} stop(s) fit no truck's capacity "
            f"and shift beside the others, e.g. {', '.join(missing[:5])}"
        )
    return found


def _solution(
    problem: Problem, seq: np.ndarray, length: np.ndarray, d: np.ndarray, t: np.ndarray, spent: float
) -> Solution:
    """The search's routes as a plan: each stop's arrival and the load carried on."""
    base = len(problem.depots)
    depot_of = {dp.id: n for n, dp in enumerate(problem.depots)}
    routes, served = [], set()
    for k, vehicle in enumerate(problem.vehicles):
        if not length[k]:
            continue
        home = depot_of[vehicle.depot]
        at, clock, load, driven, visits = home, 0.0, 0, 0.0, []
        for s in seq[k, : length[k]]:
            stop, place = problem.stops[s], base + int(s)
            clock += t[at, place]
            driven += d[at, place]
            load += stop.demand
            visits.append(Visit(kind="stop", id=stop.id, load=load, arrival_s=round(clock)))
            clock += stop.service_time_s
            served.add(stop.id)
            at = place
        clock += t[at, home]
        driven += d[at, home]
        routes.append(Route(vehicle=vehicle.id, visits=tuple(visits), distance_m=driven, duration_s=clock))
    return Solution(
        problem=problem.name,
        routes=tuple(routes),
        distance_m=sum(r.distance_m for r in routes),
        dropped=tuple(s.id for s in problem.stops if s.id not in served),
        solve_s=spent,
    )
