# Usage: wakes.py TRACE WAKER_TID READER_TID TARGET_TID: where WAKER placed READER and TARGET (its CPU or the other),
# and whether the other CPU was idle at that moment.
import re,sys,collections
app,rd,tg=sys.argv[2:5]
ev=[]
for line in open(sys.argv[1]):
    m=re.match(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)",line)
    if m: ev.append((float(m.group(5)),int(m.group(4)),m.group(6),m.group(3),m.group(7)))
c=collections.Counter()
running={}
for t,cpu,e,tid,rest in ev:
    if e=='sched_switch':
        running[cpu]=re.search(r"next_pid=(\d+)",rest).group(1)
    if e=='sched_wakeup' and tid==app:
        m=re.search(r"pid=(\d+) .*target_cpu=(\d+)",rest); who,tc=m.group(1),int(m.group(2))
        other=1-cpu
        oth='idle' if running.get(other)=='0' else 'busy'
        if who in (rd,tg): c[(('reader' if who==rd else 'target'), 'same' if tc==cpu else 'other', 'othercpu '+oth)]+=1
for k,v in sorted(c.items()): print(k,v)
