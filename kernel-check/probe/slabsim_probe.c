// SPDX-License-Identifier: GPL-2.0
/*
 * slabsim_probe: drives the real slab allocator from user space so that the
 * kernel-check harness can compare the kernel with slabsim's model.
 *
 * Interface: /sys/kernel/debug/slabsim_probe/cmd. Each write() is one
 * command; a read() returns the result of the last command as one line of
 * space-separated key=value pairs, always starting with "rc=" (0 or -errno).
 * The write() itself also returns the -errno of a failed command, so a
 * shell's echo fails too.
 *
 * Commands:
 *   create NAME SIZE ALIGN FLAGS   kmem_cache_create(); FLAGS: "0"/"none" or
 *                                  names joined by ',' or '|'
 *   destroy NAME                   free every object kept, kmem_cache_destroy()
 *   alloc NAME NODE CPU COUNT      COUNT x kmem_cache_alloc_node(GFP_KERNEL,
 *                                  NODE) on CPU (work_on_cpu()); NODE -1 is
 *                                  NUMA_NO_NODE, CPU -1 the writer's CPU
 *   free NAME COUNT [CPU]          kmem_cache_free() of the oldest COUNT
 *   freeall NAME                   kmem_cache_free() of every object kept
 *   pages NODE ORDER COUNT [CPU]   alloc_pages_node() on CPU (work_on_cpu());
 *                                  the pages are kept
 *   freepages                      __free_pages() of every page kept
 *   list                           the caches this module created
 *   rcu_gp COUNT                   COUNT timed synchronize_rcu() calls, then
 *                                  COUNT timed percpu_down_write() of an idle
 *                                  percpu rw-semaphore (its rcu_sync_enter(),
 *                                  as mem_hotplug_begin() pays it), each after
 *                                  the semaphore's rcu_sync is idle again
 *
 * Only one command runs at a time (probe_mutex). The objects are kept in a
 * vmalloc'ed ring per cache rather than in kmalloc'ed list nodes, so that
 * bookkeeping does not add objects to the kmalloc caches being observed.
 */
#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/cpu.h>
#include <linux/nodemask.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/namei.h>
#include <linux/rcupdate.h>
#include <linux/percpu-rwsem.h>
#include <linux/ktime.h>
#include <linux/delay.h>

#define PROBE_MAX_CACHES 16
#define PROBE_NAME_LEN 32
#define PROBE_MAX_OBJS (1 << 16)
#define PROBE_MAX_PAGES 4096
#define PROBE_CMD_LEN 256
#define PROBE_OUT_LEN 4096
#define PROBE_MAX_NODES 64
#define PROBE_MAX_GP 64

struct probe_cache {
	char name[PROBE_NAME_LEN];
	struct kmem_cache *cache;
	void **objs;		/* ring of live objects, oldest at head */
	unsigned int head;
	unsigned int count;
};

static struct probe_cache caches[PROBE_MAX_CACHES];
static struct page **pages;
static unsigned int pages_order[PROBE_MAX_PAGES];
static unsigned int nr_pages_kept;
static DEFINE_MUTEX(probe_mutex);
static char out[PROBE_OUT_LEN];
static size_t out_len;
static struct dentry *probe_dir;

static void out_printf(const char *fmt, ...) __printf(1, 2);
static void out_printf(const char *fmt, ...)
{
	va_list args;
	int n;

	if (out_len >= sizeof(out) - 1)
		return;
	va_start(args, fmt);
	n = vscnprintf(out + out_len, sizeof(out) - out_len, fmt, args);
	va_end(args);
	out_len += n;
}

static struct probe_cache *find_cache(const char *name)
{
	int i;

	for (i = 0; i < PROBE_MAX_CACHES; i++)
		if (caches[i].cache && !strcmp(caches[i].name, name))
			return &caches[i];
	return NULL;
}

static bool valid_name(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (len == 0 || len >= PROBE_NAME_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_' && name[i] != '-')
			return false;
	return true;
}

/* Node ids as kmem_cache_alloc_node()/alloc_pages_node() accept them. */
static int parse_node(const char *s, int *node)
{
	int n;

	if (kstrtoint(s, 10, &n))
		return -EINVAL;
	if (n == -1) {
		*node = NUMA_NO_NODE;
		return 0;
	}
	/* A possible node may be memoryless; that is what we want to probe. */
	if (n < 0 || n >= MAX_NUMNODES || !node_possible(n))
		return -EINVAL;
	*node = n;
	return 0;
}

static int parse_cpu(const char *s, int *cpu)
{
	int c;

	if (kstrtoint(s, 10, &c))
		return -EINVAL;
	if (c == -1) {
		*cpu = -1;
		return 0;
	}
	if (c < 0 || c >= nr_cpu_ids || !cpu_online(c))
		return -EINVAL;
	*cpu = c;
	return 0;
}

static const struct {
	const char *name;
	slab_flags_t flag;
} flag_names[] = {
	{ "hwcache_align", SLAB_HWCACHE_ALIGN },
	{ "reclaim_account", SLAB_RECLAIM_ACCOUNT },
	{ "account", SLAB_ACCOUNT },
	{ "red_zone", SLAB_RED_ZONE },
	{ "poison", SLAB_POISON },
	{ "store_user", SLAB_STORE_USER },
	{ "consistency_checks", SLAB_CONSISTENCY_CHECKS },
	{ "typesafe_by_rcu", SLAB_TYPESAFE_BY_RCU },
	{ "mem_spread", SLAB_MEM_SPREAD },
	{ "cache_dma32", SLAB_CACHE_DMA32 },
};

static int parse_flags(char *s, slab_flags_t *flags)
{
	char *tok;
	int i;

	*flags = 0;
	if (!strcmp(s, "0") || !strcmp(s, "none"))
		return 0;
	while ((tok = strsep(&s, ",|")) != NULL) {
		if (!*tok)
			continue;
		for (i = 0; i < ARRAY_SIZE(flag_names); i++)
			if (!strcmp(tok, flag_names[i].name))
				break;
		if (i == ARRAY_SIZE(flag_names))
			return -EINVAL;
		*flags |= flag_names[i].flag;
	}
	return 0;
}

/*
 * A kernel cache of that name? slab_caches is not exported, but SLUB shows
 * every cache (merged ones as links) under /sys/kernel/slab/. Two caches of
 * one name would make that folder and /proc/slabinfo ambiguous.
 */
static bool kernel_cache_exists(const char *name)
{
	char path[PROBE_NAME_LEN + 24];
	struct path p;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s", name);
	if (kern_path(path, 0, &p))
		return false;
	path_put(&p);
	return true;
}

static int cmd_create(char **argv, int argc)
{
	struct probe_cache *pc = NULL;
	unsigned int size, align;
	slab_flags_t flags;
	int i;

	if (argc != 5 || !valid_name(argv[1]) || kstrtouint(argv[2], 10, &size) ||
	    kstrtouint(argv[3], 10, &align) || parse_flags(argv[4], &flags))
		return -EINVAL;
	if (size == 0 || size > KMALLOC_MAX_SIZE ||
	    (align && !is_power_of_2(align)))
		return -EINVAL;
	if (find_cache(argv[1]) || kernel_cache_exists(argv[1]))
		return -EEXIST;
	for (i = 0; i < PROBE_MAX_CACHES; i++)
		if (!caches[i].cache) {
			pc = &caches[i];
			break;
		}
	if (!pc)
		return -ENOSPC;
	pc->objs = vzalloc(array_size(PROBE_MAX_OBJS, sizeof(void *)));
	if (!pc->objs)
		return -ENOMEM;
	strscpy(pc->name, argv[1], sizeof(pc->name));
	/* kmem_cache_create() copies the name (kstrdup_const()). */
	pc->cache = kmem_cache_create(pc->name, size, align, flags, NULL);
	if (!pc->cache) {
		vfree(pc->objs);
		pc->objs = NULL;
		return -ENOMEM;
	}
	pc->head = 0;
	pc->count = 0;
	out_printf(" cache=%s object_size=%u size=%u align=%u flags=0x%lx",
		   pc->name, kmem_cache_size(pc->cache), size, align,
		   (unsigned long)flags);
	return 0;
}

struct alloc_work {
	struct probe_cache *pc;
	int node;
	unsigned int count;
	/* results */
	unsigned int allocated;
	int ran_cpu;
	int ran_node;
	unsigned int per_node[PROBE_MAX_NODES];
	/* run-length encoding of the node of each object, in order */
	char runs[1024];
	size_t runs_len;
};

static void runs_add(char *buf, size_t size, size_t *len, int nid, unsigned int n)
{
	if (n == 0 || *len >= size - 1)
		return;
	*len += scnprintf(buf + *len, size - *len, "%s%d*%u",
			  *len ? "," : "", nid, n);
}

static long alloc_fn(void *arg)
{
	struct alloc_work *w = arg;
	struct probe_cache *pc = w->pc;
	int last_nid = -1;
	unsigned int run = 0;
	unsigned int i;

	w->ran_cpu = raw_smp_processor_id();
	w->ran_node = numa_node_id();
	for (i = 0; i < w->count; i++) {
		void *obj;
		int nid;

		if (pc->count >= PROBE_MAX_OBJS)
			break;
		obj = kmem_cache_alloc_node(pc->cache, GFP_KERNEL, w->node);
		if (!obj)
			break;
		pc->objs[(pc->head + pc->count) % PROBE_MAX_OBJS] = obj;
		pc->count++;
		w->allocated++;
		nid = page_to_nid(virt_to_page(obj));
		if (nid >= 0 && nid < PROBE_MAX_NODES)
			w->per_node[nid]++;
		if (nid != last_nid) {
			runs_add(w->runs, sizeof(w->runs), &w->runs_len,
				 last_nid, run);
			last_nid = nid;
			run = 0;
		}
		run++;
	}
	runs_add(w->runs, sizeof(w->runs), &w->runs_len, last_nid, run);
	return 0;
}

static long run_on(int cpu, long (*fn)(void *), void *arg)
{
	long ret;

	if (cpu < 0)
		return fn(arg);
	/* cpus_read_lock() keeps the CPU from going away during the work. */
	cpus_read_lock();
	if (cpu_online(cpu))
		ret = work_on_cpu(cpu, fn, arg);
	else
		ret = -ENODEV;
	cpus_read_unlock();
	return ret;
}

static int cmd_alloc(char **argv, int argc)
{
	struct alloc_work *w;
	struct probe_cache *pc;
	int node, cpu, i;
	unsigned int count;
	long ret;

	if (argc != 5 || parse_node(argv[2], &node) || parse_cpu(argv[3], &cpu) ||
	    kstrtouint(argv[4], 10, &count) || count > PROBE_MAX_OBJS)
		return -EINVAL;
	pc = find_cache(argv[1]);
	if (!pc)
		return -ENOENT;
	w = vzalloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pc = pc;
	w->node = node;
	w->count = count;
	ret = run_on(cpu, alloc_fn, w);
	if (!ret) {
		out_printf(" cache=%s node=%d cpu=%d requested=%u allocated=%u ran_cpu=%d ran_node=%d live=%u per_node=",
			   pc->name, node, cpu, count, w->allocated,
			   w->ran_cpu, w->ran_node, pc->count);
		for (i = 0; i < PROBE_MAX_NODES; i++)
			if (w->per_node[i])
				out_printf("%s%d:%u", out[out_len - 1] == '=' ? "" : ",",
					   i, w->per_node[i]);
		out_printf(" runs=%s", w->runs_len ? w->runs : "");
		if (w->allocated < count)
			ret = pc->count >= PROBE_MAX_OBJS ? -ENOSPC : -ENOMEM;
	}
	vfree(w);
	return ret;
}

struct free_work {
	struct probe_cache *pc;
	unsigned int count;
	unsigned int freed;
	int ran_cpu;
};

static long free_fn(void *arg)
{
	struct free_work *w = arg;
	struct probe_cache *pc = w->pc;

	w->ran_cpu = raw_smp_processor_id();
	while (w->freed < w->count && pc->count) {
		kmem_cache_free(pc->cache, pc->objs[pc->head]);
		pc->objs[pc->head] = NULL;
		pc->head = (pc->head + 1) % PROBE_MAX_OBJS;
		pc->count--;
		w->freed++;
	}
	return 0;
}

static int do_free(struct probe_cache *pc, unsigned int count, int cpu)
{
	struct free_work w = { .pc = pc, .count = count };
	long ret;

	ret = run_on(cpu, free_fn, &w);
	if (!ret)
		out_printf(" cache=%s cpu=%d requested=%u freed=%u ran_cpu=%d live=%u",
			   pc->name, cpu, count, w.freed, w.ran_cpu, pc->count);
	return ret;
}

static int cmd_free(char **argv, int argc)
{
	struct probe_cache *pc;
	unsigned int count;
	int cpu = -1;

	if ((argc != 3 && argc != 4) || kstrtouint(argv[2], 10, &count) ||
	    (argc == 4 && parse_cpu(argv[3], &cpu)))
		return -EINVAL;
	pc = find_cache(argv[1]);
	if (!pc)
		return -ENOENT;
	return do_free(pc, count, cpu);
}

static int cmd_freeall(char **argv, int argc)
{
	struct probe_cache *pc;

	if (argc != 2)
		return -EINVAL;
	pc = find_cache(argv[1]);
	if (!pc)
		return -ENOENT;
	return do_free(pc, pc->count, -1);
}

static void destroy_cache(struct probe_cache *pc)
{
	struct free_work w = { .pc = pc, .count = pc->count };

	free_fn(&w);
	kmem_cache_destroy(pc->cache);
	pc->cache = NULL;
	vfree(pc->objs);
	pc->objs = NULL;
	pc->name[0] = '\0';
}

static int cmd_destroy(char **argv, int argc)
{
	struct probe_cache *pc;
	unsigned int live;

	if (argc != 2)
		return -EINVAL;
	pc = find_cache(argv[1]);
	if (!pc)
		return -ENOENT;
	live = pc->count;
	out_printf(" cache=%s freed=%u", pc->name, live);
	destroy_cache(pc);
	return 0;
}

struct pages_work {
	int node;
	unsigned int order;
	unsigned int count;
	unsigned int got;
	unsigned int per_node[PROBE_MAX_NODES];
	int ran_cpu;
};

static long pages_fn(void *arg)
{
	struct pages_work *w = arg;

	w->ran_cpu = raw_smp_processor_id();
	while (w->got < w->count) {
		struct page *page = alloc_pages_node(w->node, GFP_KERNEL | __GFP_NOWARN,
						     w->order);
		int nid;

		if (!page)
			break;
		pages_order[nr_pages_kept] = w->order;
		pages[nr_pages_kept++] = page;
		w->got++;
		nid = page_to_nid(page);
		if (nid >= 0 && nid < PROBE_MAX_NODES)
			w->per_node[nid]++;
	}
	return 0;
}

static int cmd_pages(char **argv, int argc)
{
	struct pages_work w = { 0 };
	unsigned int i;
	int cpu = -1;
	long ret;

	if ((argc != 4 && argc != 5) || parse_node(argv[1], &w.node) ||
	    kstrtouint(argv[2], 10, &w.order) || w.order > MAX_ORDER - 1 ||
	    kstrtouint(argv[3], 10, &w.count) ||
	    (argc == 5 && parse_cpu(argv[4], &cpu)))
		return -EINVAL;
	if (w.count > PROBE_MAX_PAGES - nr_pages_kept)
		return -ENOSPC;
	ret = run_on(cpu, pages_fn, &w);
	if (ret)
		return ret;
	out_printf(" node=%d order=%u cpu=%d requested=%u allocated=%u ran_cpu=%d kept=%u per_node=",
		   w.node, w.order, cpu, w.count, w.got, w.ran_cpu, nr_pages_kept);
	for (i = 0; i < PROBE_MAX_NODES; i++)
		if (w.per_node[i])
			out_printf("%s%u:%u", out[out_len - 1] == '=' ? "" : ",",
				   i, w.per_node[i]);
	return w.got < w.count ? -ENOMEM : 0;
}

static void free_all_pages(void)
{
	while (nr_pages_kept) {
		nr_pages_kept--;
		__free_pages(pages[nr_pages_kept], pages_order[nr_pages_kept]);
		pages[nr_pages_kept] = NULL;
	}
}

static int cmd_freepages(char **argv, int argc)
{
	unsigned int n = nr_pages_kept;

	if (argc != 1)
		return -EINVAL;
	free_all_pages();
	out_printf(" freed=%u", n);
	return 0;
}

static int cmd_list(char **argv, int argc)
{
	int i, n = 0;

	if (argc != 1)
		return -EINVAL;
	out_printf(" caches=");
	for (i = 0; i < PROBE_MAX_CACHES; i++)
		if (caches[i].cache)
			out_printf("%s%s:%u", n++ ? "," : "", caches[i].name,
				   caches[i].count);
	return 0;
}

DEFINE_STATIC_PERCPU_RWSEM(probe_rwsem);

/*
 * The writer's grace period is rcu_sync_enter()'s synchronize_rcu() when the
 * rcu_sync is idle, which it is again one grace period after the last
 * percpu_up_write() (rcu_sync_exit()'s call_rcu()): the 200 ms sleep between
 * writers is far beyond that, so each one pays the full wait, as a memory
 * hotplug operation seconds after the previous one does.
 */
static int cmd_rcu_gp(char **argv, int argc)
{
	static u64 sync_ns[PROBE_MAX_GP], write_ns[PROBE_MAX_GP];
	unsigned int count, i;
	u64 t;

	if (argc != 2 || kstrtouint(argv[1], 10, &count) || !count ||
	    count > PROBE_MAX_GP)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		t = ktime_get_ns();
		synchronize_rcu();
		sync_ns[i] = ktime_get_ns() - t;
	}
	for (i = 0; i < count; i++) {
		msleep(200);
		t = ktime_get_ns();
		percpu_down_write(&probe_rwsem);
		write_ns[i] = ktime_get_ns() - t;
		percpu_up_write(&probe_rwsem);
	}
	out_printf(" hz=%d nr_cpu_ids=%u online_cpus=%u count=%u synchronize_rcu_ns=",
		   HZ, nr_cpu_ids, num_online_cpus(), count);
	for (i = 0; i < count; i++)
		out_printf("%s%llu", i ? "," : "", sync_ns[i]);
	out_printf(" percpu_down_write_ns=");
	for (i = 0; i < count; i++)
		out_printf("%s%llu", i ? "," : "", write_ns[i]);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(char **argv, int argc);
} commands[] = {
	{ "create", cmd_create },     { "destroy", cmd_destroy },
	{ "alloc", cmd_alloc },	      { "free", cmd_free },
	{ "freeall", cmd_freeall },   { "pages", cmd_pages },
	{ "freepages", cmd_freepages }, { "list", cmd_list },
	{ "rcu_gp", cmd_rcu_gp },
};

#define PROBE_MAX_ARGS 8

static int run_command(char *line)
{
	char *argv[PROBE_MAX_ARGS];
	char *tok;
	int argc = 0, i;

	while ((tok = strsep(&line, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		if (argc == PROBE_MAX_ARGS)
			return -E2BIG;
		argv[argc++] = tok;
	}
	if (!argc)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(argv, argc);
	return -EINVAL;
}

static ssize_t cmd_write(struct file *file, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	/* Under probe_mutex; static to keep the stack frame small. */
	static char body[PROBE_OUT_LEN];
	char line[PROBE_CMD_LEN];
	int rc;

	mutex_lock(&probe_mutex);
	out_len = 0;
	out[0] = '\0';
	/* A rejected write still replaces the result: no stale "rc=0". */
	if (count >= sizeof(line)) {
		rc = -E2BIG;
	} else if (copy_from_user(line, buf, count)) {
		rc = -EFAULT;
	} else {
		line[count] = '\0';
		rc = run_command(line);
	}
	/* Put rc= first: the result line always starts with it. */
	strscpy(body, out, sizeof(body));
	out_len = 0;
	out_printf("rc=%d%s\n", rc, body);
	mutex_unlock(&probe_mutex);
	return rc ? rc : count;
}

static ssize_t cmd_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&probe_mutex);
	ret = simple_read_from_buffer(buf, count, ppos, out, out_len);
	mutex_unlock(&probe_mutex);
	return ret;
}

static const struct file_operations cmd_fops = {
	.owner = THIS_MODULE,
	.write = cmd_write,
	.read = cmd_read,
	.llseek = default_llseek,
};

static int __init probe_init(void)
{
	pages = vzalloc(array_size(PROBE_MAX_PAGES, sizeof(*pages)));
	if (!pages)
		return -ENOMEM;
	probe_dir = debugfs_create_dir("slabsim_probe", NULL);
	debugfs_create_file("cmd", 0600, probe_dir, NULL, &cmd_fops);
	out_len = 0;
	out_printf("rc=0\n");
	return 0;
}

static void __exit probe_exit(void)
{
	int i;

	debugfs_remove_recursive(probe_dir);
	mutex_lock(&probe_mutex);
	for (i = 0; i < PROBE_MAX_CACHES; i++)
		if (caches[i].cache)
			destroy_cache(&caches[i]);
	free_all_pages();
	mutex_unlock(&probe_mutex);
	vfree(pages);
}

module_init(probe_init);
module_exit(probe_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("slabsim ground-truth probe: drives kmem_cache_* and alloc_pages_node() from debugfs");
